using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Reads show only what cannot be lost: acknowledged state advanced to now, never a decided change whose
/// append is still in flight (and may fail). The journal's appends are held at a gate to catch a read in between.</summary>
public sealed class DurableReadTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(QuotaClusterFixture.Start);
    private readonly GatedJournalStore _store = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(_time);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<IJournalStore>(_store);
            silo.AddQuotaGrains();
        });
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        _store.Open();
        await _cluster.DisposeAsync();
    }

    private IQuotaClient Quota => _cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    [Fact]
    public async Task A_read_during_an_append_that_then_fails_never_shows_the_failed_change()
    {
        var spaceId = QuotaClusterFixture.NewId("space");
        Assert.True((await Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "olga", PlanTier.Pro))).Succeeded);
        var user = _cluster.Client.GetGrain<IUserGrain>("olga");
        var first = await user.ReserveAsync(spaceId, new ReserveRequest("h1", ClusterTestExtensions.Recolor, 2));
        Assert.True((await user.CommitAsync(spaceId, new SettleRequest("c1", first.HoldId!))).Succeeded);
        var second = await user.ReserveAsync(spaceId, new ReserveRequest("h2", ClusterTestExtensions.Recolor, 1));
        Assert.True(second.Succeeded);

        // The commit of h2 is decided (the live pool has used 12) but its append hangs, then fails.
        _store.Close();
        var commit = user.CommitAsync(spaceId, new SettleRequest("c2", second.HoldId!));
        await _store.Waiting.WaitAsync(TimeSpan.FromSeconds(10));

        var during = await Quota.GetBalanceAsync(spaceId);
        var usage = await Quota.GetUsageAsync(spaceId) ?? throw new InvalidOperationException("no such Space");
        Assert.Equal((8L, 4L, 1), (during!.Used, during.Held, during.OpenHolds));
        Assert.Equal((8L, 2L), (usage[0].Credits, usage[0].Generations));

        _store.Open(new IOException("injected: the append never landed"));
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => commit);

        // The Space reloads from what is durable: the same as the read showed; usage did not go backwards.
        var after = await RetryAsync(() => Quota.GetBalanceAsync(spaceId));
        Assert.Equal((8L, 4L, 1), (after!.Used, after.Held, after.OpenHolds));

        // The caller retries with the same id and learns the one outcome; its own acknowledged write is what it reads.
        Assert.True((await user.CommitAsync(spaceId, new SettleRequest("c2", second.HoldId!))).Succeeded);
        var settled = await Quota.GetBalanceAsync(spaceId);
        Assert.Equal((12L, 0L, 0), (settled!.Used, settled.Held, settled.OpenHolds));
    }

    [Fact]
    public async Task A_read_past_the_renewal_instant_shows_the_renewed_pool_before_the_renewal_is_durable()
    {
        var spaceId = QuotaClusterFixture.NewId("space");
        Assert.True((await Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "pia", PlanTier.Pro))).Succeeded);
        var user = _cluster.Client.GetGrain<IUserGrain>("pia");
        var spent = await user.ReserveAsync(spaceId, new ReserveRequest("h1", ClusterTestExtensions.Recolor, 3));
        Assert.True((await user.CommitAsync(spaceId, new SettleRequest("c1", spent.HoldId!))).Succeeded);
        Assert.True((await user.ReserveAsync(spaceId, new ReserveRequest("h2", ClusterTestExtensions.Shadows, 5))).Succeeded);
        var before = await Quota.GetBalanceAsync(spaceId);
        Assert.Equal((12L, 5L), (before!.Used, before.Held));

        _store.Close();
        _time.Advance(before.NextRenewal - _time.GetUtcNow() + TimeSpan.FromSeconds(1));
        var renewed = await Quota.GetBalanceAsync(spaceId);

        // The hold's expiry and the renewal are a function of state and time: shown at once, while their events still
        // wait at the gate.
        Assert.True(_store.Waiting.IsCompleted, "the renewal was not handed to the journal");
        Assert.Equal(before.NextRenewal, renewed!.CycleStart);
        Assert.Equal((0L, 0L, 0), (renewed.Used, renewed.Held, renewed.OpenHolds));

        _store.Open();
        Assert.Equal(renewed with { AsOf = default }, (await Quota.GetBalanceAsync(spaceId))! with { AsOf = default });
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (QuotaUnavailableException) when (attempt < 50)
            {
                // The failed activation is on its way out; the next call reaches a fresh one.
                await Task.Delay(20);
            }
        }
    }

    /// <summary>The embedded journal store, whose appends can be held at a gate and then let through or failed.</summary>
    private sealed class GatedJournalStore() : DelegatingJournalStore(new MemoryJournalStore())
    {
        private TaskCompletionSource<Exception?>? _gate;
        private TaskCompletionSource _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when an append waits at the closed gate.</summary>
        public Task Waiting => _waiting.Task;

        public void Close()
        {
            _waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        /// <summary>Lets the held appends through, or fails them with <paramref name="failure"/>.</summary>
        public void Open(Exception? failure = null)
        {
            var gate = _gate;
            _gate = null;
            gate?.TrySetResult(failure);
        }

        public override async Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
        {
            if (_gate is { } gate)
            {
                _waiting.TrySetResult();
                if (await gate.Task.WaitAsync(cancellationToken) is { } failure)
                {
                    throw failure;
                }
            }

            await base.AppendAsync(segment, expectedOffset, block, cancellationToken);
        }
    }
}
