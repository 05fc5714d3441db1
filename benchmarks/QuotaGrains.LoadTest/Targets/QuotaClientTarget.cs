using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QuotaGrains.Client;
using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>
/// The engine through <see cref="IQuotaClient"/>, what a generation server uses: reserve goes client → user grain →
/// Space grain, commit and refund through the hold (same path), balance and the audit's reads go to the Space grain.
/// Subclasses decide where the silo is (in this process, or a cluster already running).
/// </summary>
public abstract class QuotaClientTarget : IQuotaTarget
{
    private IHost? _host;

    protected IQuotaClient Quota { get; private set; } = null!;

    /// <summary>The host's services once started.</summary>
    protected IServiceProvider? Services => _host?.Services;

    public abstract string Name { get; }

    /// <summary>How many calls the client lets into the engine at once while the process is busy
    /// (<c>Quota:Client:MaxConcurrentCallsWhenBusy</c>; unset, 16 per processor inside a silo and none in an Orleans
    /// client); workers past it wait in its queue, part of their latency.</summary>
    protected string ClientCallBound => Services?.GetService<IQuotaClient>() is QuotaClient { CallBoundWhenBusy: var bound }
        ? (bound == 0 ? "none" : bound.ToString(System.Globalization.CultureInfo.InvariantCulture))
        : "-";

    public abstract string Key { get; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await OnStartingAsync(cancellationToken);
        _host = BuildHost();
        await _host.StartAsync(cancellationToken);
        Quota = _host.Services.GetRequiredService<IQuotaClient>();
        OnStarted(_host.Services);
        await OnStartedAsync(_host.Services, cancellationToken);
    }

    public async Task SetupAsync(WorkloadModel model, Action<int> progress, CancellationToken cancellationToken)
    {
        var done = 0;
        await Parallel.ForEachAsync(
            model.Spaces,
            new ParallelOptions { MaxDegreeOfParallelism = SetupParallelism, CancellationToken = cancellationToken },
            async (space, ct) =>
            {
                var owner = model.UserIds[space.Members[0]];
                var created = await RetryAsync(() => Quota.CreateSpaceAsync(space.Id, new CreateSpaceRequest($"{space.Id}-create", owner, space.Plan, BillingCadence.Monthly, null, space.CustomAllowance), ct), ct);
                Ensure(created, $"create {space.Id}");
                for (var j = 1; j < space.Members.Length; j++)
                {
                    var user = model.UserIds[space.Members[j]];
                    var added = await RetryAsync(() => Quota.AddMemberAsync(space.Id, new AddMemberRequest($"{space.Id}-add-{j}", owner, user, SpaceRole.Member), ct), ct);
                    Ensure(added, $"add {user} to {space.Id}");
                }

                await AfterSpaceSetupAsync(space, ct);
                progress(Interlocked.Increment(ref done));
            });
    }

    public async Task<ReserveOutcome> ReserveAsync(SpaceModel space, string userId, SpecChoice spec, int count, string operationId)
    {
        var hold = await Quota.ReserveAsync(userId, space.Id, spec.Spec, count, operationId);
        var r = hold.Reservation;
        return r.Succeeded
            ? new ReserveOutcome(true, null, r.Replayed, r.HoldId, r.Items, r.Credits, hold)
            : ReserveOutcome.Rejected(r.Rejection!.Code);
    }

    public async Task<SettleOutcome> SettleAsync(ReserveOutcome hold, bool commit, IReadOnlyList<int>? items)
    {
        var quotaHold = (QuotaHold)hold.Handle!;
        var r = commit ? await quotaHold.CommitAsync(items) : await quotaHold.RefundAsync(items);
        return new SettleOutcome(r.Succeeded, r.Rejection?.Code, r.Replayed, r.CommittedCredits, r.RefundedCredits, r.ItemsSettled, r.ItemsPending);
    }

    public async Task<long?> AvailableAsync(SpaceModel space) => (await Quota.GetBalanceAsync(space.Id))?.Available;

    public async Task<PoolView> ReadPoolAsync(SpaceModel space)
    {
        var balance = await Quota.GetBalanceAsync(space.Id);
        if (balance is null)
        {
            return default;
        }

        var usage = await Quota.GetUsageAsync(space.Id) ?? throw new InvalidOperationException("no such Space");
        var generations = usage.Count > 0 ? usage[0].Generations : 0;
        return new PoolView(true, balance.Allowance, balance.Used, balance.Held, balance.OpenHolds, generations);
    }

    public virtual Task<string?> SettleAsync(WorkloadModel model, Action<string> info, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    public virtual Task MarkAsync(bool measuring) => Task.CompletedTask;

    public virtual Task<TargetDiagnostics> DiagnosticsAsync() => Task.FromResult(new TargetDiagnostics(new Dictionary<string, string>()));

    public virtual string HarnessRole => "client";

    public virtual IReadOnlyList<ServerProcess> ServerProcesses => [];

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            // Shutting down cancels work in flight (snapshots, timers): those errors are expected, not news.
            await OnStoppingAsync(_host.Services);
            LogGate.Quiet = true;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _host.StopAsync(timeout.Token);
            }
            finally
            {
                _host.Dispose();
                _host = null;
                OnStopped();
                LogGate.Quiet = false;
            }
        }

        await OnDisposedAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>After a Space and its members are set up.</summary>
    protected virtual Task AfterSpaceSetupAsync(SpaceModel space, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Spaces set up at once.</summary>
    protected virtual int SetupParallelism => 64;

    protected abstract IHost BuildHost();

    /// <summary>Before the host is built (e.g. start the storage it needs).</summary>
    protected virtual Task OnStartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After the host stopped (e.g. stop the storage it needed).</summary>
    protected virtual ValueTask OnDisposedAsync() => ValueTask.CompletedTask;

    protected virtual void OnStarted(IServiceProvider services)
    {
    }

    /// <summary>After the host started, before setup (e.g. wait until every silo of a cluster is Active).</summary>
    protected virtual Task OnStartedAsync(IServiceProvider services, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Before the host stops, while it can still make calls.</summary>
    protected virtual Task OnStoppingAsync(IServiceProvider services) => Task.CompletedTask;

    protected virtual void OnStopped()
    {
    }

    /// <summary>Setup requests carry fixed operation ids, so one whose outcome is unknown (storage slow or briefly
    /// unavailable, e.g. Azurite saturated while 10,000 Spaces are created) is sent again: it has one outcome.</summary>
    protected static async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception) when (attempt < SetupAttempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * attempt, 2_000)), cancellationToken);
            }
        }
    }

    private const int SetupAttempts = 20;

    private static void Ensure(CommandResult result, string what)
    {
        // A replay (the same setup run twice on a cluster) is fine; anything else means the workload is wrong.
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Setup failed: {what}: {result.Rejection}.");
        }
    }
}
