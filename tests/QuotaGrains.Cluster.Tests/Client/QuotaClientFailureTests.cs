using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.Messaging;
using QuotaGrains.Client;
using QuotaGrains.Client.Options;

namespace QuotaGrains.Tests.Client;

/// <summary>What the client makes of the failures the Orleans client raises: every "outcome unknown" is retried with
/// the same request and ends as <see cref="QuotaUnavailableException"/>, a few times or, while the cluster is changing,
/// within a time budget; bad input and the caller's own cancellation are the caller's; a call in flight when a gateway
/// connection is lost ends at once.</summary>
public sealed class QuotaClientFailureTests : IDisposable
{
    private readonly FakeSpace _space = new();
    private readonly ServiceProvider _services;

    public QuotaClientFailureTests()
        : this(o => o.RetryDelay = TimeSpan.Zero)
    {
    }

    private QuotaClientFailureTests(Action<QuotaClientOptions> options)
    {
        _services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddSingleton(Fake.GrainFactory(_space))
            .AddQuotaClient(options)
            .BuildServiceProvider();
    }

    private IQuotaClient Quota => _services.GetRequiredService<IQuotaClient>();

    public void Dispose() => _services.Dispose();

    /// <summary>Failures that are not the cluster changing: the engine's own fail-closed answer and whatever else.</summary>
    public static TheoryData<Exception> OutcomeUnknown() =>
    [
        new GatewayTooBusyException(),
        new OrleansException("Error from storage provider AzureTableGrainStorage.space during ReadStateAsync"),
        new TaskCanceledException("A task was canceled."),
        new TypeLoadException("Unable to load Azure.RequestFailedException, Azure.Core"),
        new QuotaUnavailableException("Space 's' could not make its changes durable."),
    ];

    /// <summary>Failures that say the cluster is changing (a silo stopping or lost, an answer that did not come).</summary>
    public static TheoryData<Exception> ClusterChanging() =>
    [
        new TimeoutException("Response did not arrive on time in 00:00:10 for message: Request ..."),
        new SiloUnavailableException("The target silo became unavailable for message: Request ..."),
        new ConnectionFailedException("There are no available gateways."),
        new QuotaUnavailableException("Routing to Space 's' failed; the outcome is unknown.") { ClusterChanging = true },
    ];

    [Theory]
    [MemberData(nameof(OutcomeUnknown))]
    public async Task An_unknown_outcome_is_retried_then_thrown_as_QuotaUnavailableException(Exception failure)
    {
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(failure));
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(failure));
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(failure));

        var thrown = await Assert.ThrowsAsync<QuotaUnavailableException>(() => Quota.GetBalanceAsync("space"));

        Assert.Equal(3, _space.Calls);
        Assert.Null(thrown.InnerException);
        if (failure is QuotaUnavailableException)
        {
            Assert.Same(failure, thrown);
        }
        else
        {
            Assert.Contains($"{failure.GetType().FullName}: {failure.Message}", thrown.Message);
        }
    }

    [Theory]
    [MemberData(nameof(ClusterChanging))]
    public async Task A_cluster_change_is_retried_past_MaxAttempts_within_the_budget(Exception failure)
    {
        var balance = Balance();
        for (var i = 0; i < 7; i++)
        {
            _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(failure));
        }

        _space.Outcomes.Enqueue(() => Task.FromResult<SpaceBalance?>(balance));

        Assert.Same(balance, await Quota.GetBalanceAsync("space"));
        Assert.Equal(8, _space.Calls);
    }

    [Fact]
    public async Task A_cluster_change_that_outlasts_the_budget_is_thrown_as_QuotaUnavailableException()
    {
        var budget = TimeSpan.FromMilliseconds(300);
        using var test = new QuotaClientFailureTests(o =>
        {
            o.RetryDelay = TimeSpan.FromMilliseconds(10);
            o.RetryBudget = budget;
        });
        for (var i = 0; i < 1_000; i++)
        {
            test._space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(new SiloUnavailableException("lost")));
        }

        var started = Stopwatch.StartNew();
        var thrown = await Assert.ThrowsAsync<QuotaUnavailableException>(() => test.Quota.GetBalanceAsync("space"));

        // It gave up only once the budget was spent (how many attempts fit depends on the machine's timer), and with the
        // last cause, before the queue of failures ran out.
        Assert.True(started.Elapsed >= budget, $"gave up after {started.Elapsed}");
        Assert.InRange(test._space.Calls, 3, 999);
        Assert.Contains($"{typeof(SiloUnavailableException).FullName}: lost", thrown.Message);
    }

    [Fact]
    public async Task A_retry_that_succeeds_returns_its_result()
    {
        var balance = Balance();
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(new SiloUnavailableException("lost")));
        _space.Outcomes.Enqueue(() => Task.FromResult<SpaceBalance?>(balance));

        Assert.Same(balance, await Quota.GetBalanceAsync("space"));
        Assert.Equal(2, _space.Calls);
    }

    [Fact]
    public async Task Bad_input_is_thrown_as_it_is_without_a_retry()
    {
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(new ArgumentException("PageSize must be 1..1000.", "query")));

        await Assert.ThrowsAsync<ArgumentException>(() => Quota.GetBalanceAsync("space"));
        Assert.Equal(1, _space.Calls);
    }

    [Fact]
    public async Task The_callers_cancellation_stays_OperationCanceledException()
    {
        using var cancellation = new CancellationTokenSource();
        _space.Outcomes.Enqueue(() =>
        {
            cancellation.Cancel();
            return Task.FromException<SpaceBalance?>(new TimeoutException("late"));
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Quota.GetBalanceAsync("space", cancellation.Token));
        Assert.Equal(1, _space.Calls);
    }

    [Fact]
    public async Task A_call_in_flight_when_a_gateway_connection_is_lost_ends_at_once_and_is_retried()
    {
        var observer = _services.GetServices<IClusterConnectionStatusObserver>().Single();
        var balance = Balance();
        var unanswered = new TaskCompletionSource<SpaceBalance?>();
        _space.Outcomes.Enqueue(() => unanswered.Task);
        _space.Outcomes.Enqueue(() => Task.FromResult<SpaceBalance?>(balance));
        observer.NotifyGatewayCountChanged(1, 0, connectionRecovered: false);

        var call = Quota.GetBalanceAsync("space");
        Assert.False(call.IsCompleted);
        observer.NotifyGatewayCountChanged(0, 1, connectionRecovered: false);

        Assert.Same(balance, await call.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(2, _space.Calls);
    }

    [Fact]
    public async Task Calls_of_a_process_without_gateway_connections_are_not_watched()
    {
        // A silo's co-hosted client: nothing reports gateways, and a loss report (none comes) would not end its calls.
        var observer = _services.GetServices<IClusterConnectionStatusObserver>().Single();
        var unanswered = new TaskCompletionSource<SpaceBalance?>();
        _space.Outcomes.Enqueue(() => unanswered.Task);

        var call = Quota.GetBalanceAsync("space");
        observer.NotifyClusterConnectionLost();
        await Task.Delay(50);

        Assert.False(call.IsCompleted);
        unanswered.SetResult(null);
        Assert.Null(await call);
    }

    [Fact]
    public async Task A_settle_that_failed_is_sent_again_with_the_same_operation_id()
    {
        var unavailable = new QuotaUnavailableException("Space 'space' could not make its changes durable.");
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(unavailable));
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(unavailable));
        _space.Outcomes.Enqueue(() => Task.FromException<SpaceBalance?>(unavailable));
        await using var hold = await Quota.ReserveAsync("user", "space", new GenerationSpec("recolor"), operationId: "h");

        await Assert.ThrowsAsync<QuotaUnavailableException>(() => hold.CommitAsync());
        var committed = await hold.CommitAsync();
        var refunded = await hold.RefundAsync();

        Assert.True(committed.Succeeded);
        Assert.Equal(["h:c1", "h:c1", "h:c1", "h:c1", "h:r2"], _space.Settles);
        Assert.Equal(0, refunded.ItemsPending);
    }

    private static SpaceBalance Balance() =>
        new("space", PlanTier.Pro, null, 500, 0, 0, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1, 0, 1, DateTimeOffset.UnixEpoch);

    /// <summary>The engine as the fakes below see it: balance reads answer with the outcomes queued, in order (so do
    /// settles, once their operation id is recorded); a reserve holds one item.</summary>
    public sealed class FakeSpace
    {
        private int _calls;

        public ConcurrentQueue<Func<Task<SpaceBalance?>>> Outcomes { get; } = new();

        public ConcurrentQueue<string> Settles { get; } = new();

        public int Calls => Volatile.Read(ref _calls);

        public Task<SpaceBalance?> NextAsync()
        {
            Interlocked.Increment(ref _calls);
            return Outcomes.TryDequeue(out var next) ? next() : throw new InvalidOperationException("No outcome queued.");
        }

        public Task<ReserveResult> ReserveAsync(ReserveRequest request) =>
            Task.FromResult(new ReserveResult { HoldId = request.OperationId, Items = 1, UnitCredits = 4, Credits = 4 });

        public async Task<SettleResult> SettleAsync(SettleRequest request)
        {
            Settles.Enqueue(request.OperationId);
            if (Outcomes.TryDequeue(out var next))
            {
                await next();
            }

            return new SettleResult { HoldId = request.HoldId, ItemsSettled = 1, ItemsPending = 0 };
        }
    }

    /// <summary>Stands for the Orleans client: an <see cref="IGrainFactory"/> handing out a user and a Space grain that
    /// answer as <see cref="FakeSpace"/> says. A <see cref="DispatchProxy"/>, which cannot be sealed.</summary>
    public class Fake : DispatchProxy
    {
        private Func<MethodInfo, object?[], object?> _answer = null!;

        public static IGrainFactory GrainFactory(FakeSpace space)
        {
            var user = Of<IUserGrain>((method, args) => method.Name switch
            {
                nameof(IUserGrain.ReserveAsync) => space.ReserveAsync((ReserveRequest)args[1]!),
                nameof(IUserGrain.CommitAsync) or nameof(IUserGrain.RefundAsync) => space.SettleAsync((SettleRequest)args[1]!),
                _ => throw new NotSupportedException(method.ToString()),
            });
            var spaceGrain = Of<ISpaceGrain>((method, _) =>
                method.Name == nameof(ISpaceGrain.GetBalanceAsync) ? space.NextAsync() : throw new NotSupportedException(method.ToString()));
            return Of<IGrainFactory>((method, _) =>
                method.Name != nameof(IGrainFactory.GetGrain) ? throw new NotSupportedException(method.ToString())
                : method.ReturnType == typeof(ISpaceGrain) ? spaceGrain
                : method.ReturnType == typeof(IUserGrain) ? user
                : throw new NotSupportedException(method.ToString()));
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => _answer(targetMethod!, args ?? []);

        private static T Of<T>(Func<MethodInfo, object?[], object?> answer)
            where T : class
        {
            var proxy = Create<T, Fake>();
            ((Fake)(object)proxy)._answer = answer;
            return proxy;
        }
    }
}
