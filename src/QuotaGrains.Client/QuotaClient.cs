using QuotaGrains.Diagnostics;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Client.Diagnostics;
using QuotaGrains.Client.Options;

namespace QuotaGrains.Client;

/// <summary>The in-process client: calls the user's grain (spending) and the Space grain (administration, queries)
/// through whatever <see cref="IGrainFactory"/> the host has, a silo's own or an <see cref="IClusterClient"/>.</summary>
internal sealed partial class QuotaClient : IQuotaClient
{
    private const int MaxCachedUsers = 100_000;
    private readonly IGrainFactory _grains;
    private readonly QuotaClientOptions _options;
    private readonly GatewayLossSignal _gatewayLoss;
    private readonly ILogger<QuotaClient> _logger;
    private readonly ConcurrentDictionary<string, IUserGrain> _users = new(StringComparer.Ordinal);
    private readonly CallGate _gate;
    private readonly ClientTelemetry _telemetry;
    private readonly GrainCallTrace _trace;

    /// <param name="inSilo">Whether this client runs inside a silo's process (co-hosted): its process's load is then the
    /// engine's, and its admission gate bounds by default (<see cref="QuotaClientOptions.MaxConcurrentCallsWhenBusy"/>).</param>
    internal QuotaClient(IGrainFactory grains, IOptions<QuotaClientOptions> options, GatewayLossSignal gatewayLoss, ILogger<QuotaClient> logger, bool inSilo, ClientTelemetry telemetry, GrainCallTrace trace)
    {
        _grains = grains;
        _options = options.Value;
        _gatewayLoss = gatewayLoss;
        _logger = logger;
        _gate = new CallGate(_options.CallBoundWhenBusy(inSilo));
        _telemetry = telemetry;
        _trace = trace;
    }

    /// <summary>The calls let into the engine at once while this process is busy; 0 = no bound.</summary>
    internal int CallBoundWhenBusy => _gate.LimitWhenBusy;

    public async Task<QuotaHold> ReserveAsync(
        string userId,
        string spaceId,
        GenerationSpec spec,
        int count = 1,
        string? operationId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        ArgumentException.ThrowIfNullOrWhiteSpace(spaceId);
        ArgumentNullException.ThrowIfNull(spec);
        if (operationId is not null && (operationId.Length == 0 || operationId.Length > _options.MaxCallerOperationIdLength))
        {
            throw new ArgumentException($"An operation id must have 1 to {_options.MaxCallerOperationIdLength} characters.", nameof(operationId));
        }

        var request = new ReserveRequest(operationId ?? Guid.NewGuid().ToString("N"), spec, count);
        var span = ClientTelemetry.Start("quota.reserve", spaceId, request.OperationId);
        ReserveResult result;
        try
        {
            result = await InvokeAsync(
                () => _trace.Call(GrainCallTrace.UserReserve, userId, (User: User(userId), spaceId, request), static s => s.User.ReserveAsync(s.spaceId, s.request)),
                cancellationToken);
        }
        catch (Exception exception) when (ClientTelemetry.Failed(span, exception))
        {
            throw;
        }

        ClientTelemetry.End(span, result);
        var hold = new QuotaHold(this, userId, spaceId, result);
        if (cancellationToken.IsCancellationRequested)
        {
            await hold.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }

        return hold;
    }

    public async Task<QuotaRun<T>> RunAsync<T>(
        string userId,
        string spaceId,
        GenerationSpec spec,
        Func<CancellationToken, Task<T>> generate,
        string? operationId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generate);
        await using var hold = await ReserveAsync(userId, spaceId, spec, 1, operationId, cancellationToken);
        if (!hold.Succeeded)
        {
            return new QuotaRun<T>(hold.Reservation, default);
        }

        var value = await generate(cancellationToken);
        var settlement = await hold.CommitAsync(cancellationToken: CancellationToken.None);
        return new QuotaRun<T>(hold.Reservation, value, settlement);
    }

    public Task<CommandResult> CreateSpaceAsync(string spaceId, CreateSpaceRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Space(spaceId).CreateAsync(request), cancellationToken);

    public Task<CommandResult> AddMemberAsync(string spaceId, AddMemberRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Space(spaceId).AddMemberAsync(request), cancellationToken);

    public Task<CommandResult> RemoveMemberAsync(string spaceId, RemoveMemberRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Space(spaceId).RemoveMemberAsync(request), cancellationToken);

    public Task<CommandResult> ChangePlanAsync(string spaceId, ChangePlanRequest request, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Space(spaceId).ChangePlanAsync(request), cancellationToken);

    public Task<SpaceBalance?> GetBalanceAsync(string spaceId, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Space(spaceId).GetBalanceAsync(), cancellationToken);

    public Task<IReadOnlyList<CycleUsage>?> GetUsageAsync(string spaceId, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Space(spaceId).GetUsageAsync(), cancellationToken);

    public Task<LedgerPage> GetLedgerAsync(string spaceId, LedgerQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return InvokeAsync(() => Space(spaceId).GetLedgerAsync(query), cancellationToken);
    }

    public Task<IReadOnlyList<UserSpace>> GetUserSpacesAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        return InvokeAsync(() => User(userId).GetSpacesAsync(), cancellationToken);
    }

    internal Task<SettleResult> SettleAsync(QuotaHold hold, bool commit, SettleRequest request, CancellationToken cancellationToken)
    {
        var user = User(hold.UserId);
        var span = ClientTelemetry.Start(commit ? "quota.commit" : "quota.refund", hold.SpaceId, request.OperationId);
        var settle = InvokeAsync(
            () => commit
                ? _trace.Call(GrainCallTrace.UserCommit, hold.UserId, (User: user, hold.SpaceId, request), static s => s.User.CommitAsync(s.SpaceId, s.request))
                : _trace.Call(GrainCallTrace.UserRefund, hold.UserId, (User: user, hold.SpaceId, request), static s => s.User.RefundAsync(s.SpaceId, s.request)),
            cancellationToken);
        return span is null ? settle : TracedAsync(settle, span);
    }

    private static async Task<SettleResult> TracedAsync(Task<SettleResult> settle, System.Diagnostics.Activity span)
    {
        try
        {
            var result = await settle;
            ClientTelemetry.End(span, result);
            return result;
        }
        catch (Exception exception) when (ClientTelemetry.Failed(span, exception))
        {
            throw;
        }
    }

    internal async Task RefundOnDisposeAsync(QuotaHold hold)
    {
        try
        {
            var result = await hold.SettleAsync(commit: false, items: null, CancellationToken.None);
            if (!result.Succeeded)
            {
                LogRefundRefused(hold.HoldId, hold.SpaceId, result.Rejection);
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The hold expires and is refunded by the engine; a dispose must not throw over the caller's exception.
            LogRefundFailed(exception, hold.HoldId, hold.SpaceId);
        }
    }

    /// <summary>Grain references are cached (bounded): resolving one per call costs more than the call's routing.</summary>
    private IUserGrain User(string userId)
    {
        if (_users.TryGetValue(userId, out var user))
        {
            return user;
        }

        if (_users.Count >= MaxCachedUsers)
        {
            _users.Clear();
        }

        return _users[userId] = _grains.GetGrain<IUserGrain>(userId);
    }

    private ISpaceGrain Space(string spaceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spaceId);
        return _grains.GetGrain<ISpaceGrain>(spaceId);
    }

    /// <summary>Calls through the gate, and retries with the same request (same operation id) while the outcome is
    /// unknown. A retry waits for the gate again; the pause between attempts holds no slot. What ends it: the result,
    /// bad input (<see cref="ArgumentException"/>, as the engine sent it), the caller's own cancellation, or
    /// <see cref="QuotaUnavailableException"/> naming the last cause: after <see cref="QuotaClientOptions.MaxAttempts"/>,
    /// or, while the failures say that the cluster is changing (<see cref="QuotaUnavailableException.IsClusterChange"/>, a
    /// gateway connection lost), once <see cref="QuotaClientOptions.RetryBudget"/> has passed since the first attempt.</summary>
    private async Task<T> InvokeAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var started = Stopwatch.GetTimestamp();
        var delay = _options.RetryDelay;
        for (var number = 1; ; number++)
        {
            try
            {
                return await _gate.RunAsync(_gatewayLoss.Watching ? Watched(call, _gatewayLoss) : call, cancellationToken);
            }
            catch (Exception exception) when (IsOutcomeUnknown(exception, cancellationToken))
            {
                if (number >= _options.MaxAttempts
                    && !(QuotaUnavailableException.IsClusterChange(exception) && Stopwatch.GetElapsedTime(started) < _options.RetryBudget))
                {
                    LogGaveUp(exception, number);
                    _telemetry.GaveUp(exception);
                    throw exception as QuotaUnavailableException
                        ?? new QuotaUnavailableException($"The quota engine did not answer after {number} attempt(s); the outcome is unknown. Retry with the same operation id.", exception);
                }

                LogRetry(exception, number);
                _telemetry.Retried(exception);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, QuotaClientOptions.MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>An attempt that ends at once with an unknown outcome if a gateway connection is lost while it is in flight
    /// (<see cref="GatewayLossSignal"/>), releasing its place in the gate; the call itself is left to Orleans, which ends
    /// it at its response timeout. Only a process with an Orleans client watches (nothing is added to a silo's calls).</summary>
    private static Func<Task<T>> Watched<T>(Func<Task<T>> call, GatewayLossSignal gatewayLoss) => () =>
    {
        // Taken as the call is sent: a loss reported from then on ends it.
        var lost = gatewayLoss.Token;
        var task = call();
        return task.IsCompleted ? task : AbandonOnLossAsync(task, lost);
    };

    private static async Task<T> AbandonOnLossAsync<T>(Task<T> task, CancellationToken lost)
    {
        try
        {
            return await task.WaitAsync(lost);
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested && !task.IsCompleted)
        {
            _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw new QuotaUnavailableException("The connection to a silo of the quota engine was lost while the call was in flight; the outcome is unknown. Retry with the same operation id.")
            {
                ClusterChanging = true,
            };
        }
    }

    /// <summary>
    /// Everything but bad input and the caller's own cancellation: the request may or may not have been carried out.
    /// The Orleans client (10.x) raises <see cref="TimeoutException"/> (no response within its response timeout),
    /// <see cref="SiloUnavailableException"/> (the silo it sent to was declared dead, or the client is stopping),
    /// <see cref="ConnectionFailedException"/> (no gateway), <see cref="OrleansMessageRejectionException"/> and
    /// <see cref="GatewayTooBusyException"/> (rejections), a rejection's own exception (e.g. whatever failed a grain's
    /// activation), an <see cref="OperationCanceledException"/> that is not the caller's, and any exception that its
    /// response could not be read as (a <see cref="TypeLoadException"/> for a type this process does not have). The
    /// engine's grains send <see cref="QuotaUnavailableException"/>.
    /// </summary>
    private static bool IsOutcomeUnknown(Exception exception, CancellationToken cancellationToken) =>
        exception is not ArgumentException
        && !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);

    [LoggerMessage(1, LogLevel.Warning, "Quota call failed with an unknown outcome (attempt {Attempt}); retrying with the same operation id.")]
    private partial void LogRetry(Exception exception, int attempt);

    [LoggerMessage(2, LogLevel.Warning, "Refunding hold {HoldId} in Space {SpaceId} on dispose was refused: {Rejection}.")]
    private partial void LogRefundRefused(string? holdId, string spaceId, Rejection? rejection);

    [LoggerMessage(3, LogLevel.Warning, "Refunding hold {HoldId} in Space {SpaceId} on dispose failed; the hold will expire.")]
    private partial void LogRefundFailed(Exception exception, string? holdId, string spaceId);

    [LoggerMessage(4, LogLevel.Warning, "Quota call failed with an unknown outcome {Attempts} time(s); the caller gets QuotaUnavailableException.")]
    private partial void LogGaveUp(Exception exception, int attempts);
}
