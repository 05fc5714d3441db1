using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Journal segments are deleted once every Space in them has a snapshot past them; Spaces that hold an old
/// segment back are asked to snapshot by the sweep.</summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private readonly FaultyJournalStore _store = new(new MemoryJournalStore());
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(new FakeTimeProvider(QuotaClusterFixture.Start));
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        });

        // Tiny segments (two one-record blocks each) so that a few operations roll many of them; the periodic sweep
        // is pushed out of the way so that the test drives it.
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<IJournalStore>(_store);
            silo.AddQuotaGrains(q => q.ConfigureJournal(o =>
            {
                o.MaxRecordsPerBlock = 1;
                o.MaxBlocksPerSegment = 2;
                o.RetentionSweepInterval = TimeSpan.FromHours(1);
            }));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_Space_deactivated_with_nothing_pending_reloads_without_reading_the_journal()
    {
        var spaceId = QuotaClusterFixture.NewId("final");
        var space = _cluster.Client.GetGrain<ISpaceGrain>(spaceId);
        Assert.True((await space.CreateAsync(new CreateSpaceRequest("create", "owner", PlanTier.Max))).Succeeded);
        var user = _cluster.Client.GetGrain<IUserGrain>("owner");
        var hold = await user.ReserveAsync(spaceId, new ReserveRequest("h", new GenerationSpec("ai-video", MediaKind.Video), 2));
        Assert.True((await user.CommitAsync(spaceId, new SettleRequest("c", hold.HoldId!, [1]))).Succeeded);
        await _cluster.DeactivateAsync(space);

        // The final snapshot says no record follows it: the reload does not even list the journal's segments.
        var reads = _store.Reads;
        var balance = await space.GetBalanceAsync();
        Assert.Equal((20L, 20L, 1), (balance!.Used, balance.Held, balance.OpenHolds));
        Assert.Equal(reads, _store.Reads);
    }

    [Fact]
    public async Task Segments_behind_every_snapshot_are_deleted_and_Spaces_still_recover()
    {
        var services = _cluster.Silos[0].ServiceProvider;
        var journal = services.GetRequiredService<SiloJournalWriter>();
        var spaces = new[] { QuotaClusterFixture.NewId("a"), QuotaClusterFixture.NewId("b"), QuotaClusterFixture.NewId("c") };
        foreach (var spaceId in spaces)
        {
            var space = _cluster.Client.GetGrain<ISpaceGrain>(spaceId);
            Assert.True((await space.CreateAsync(new CreateSpaceRequest("create", "owner", PlanTier.Pro))).Succeeded);
            var user = _cluster.Client.GetGrain<IUserGrain>("owner");
            for (var i = 0; i < 6; i++)
            {
                var hold = await user.ReserveAsync(spaceId, new ReserveRequest($"h{i}", new GenerationSpec("recolor")));
                Assert.True((await user.CommitAsync(spaceId, new SettleRequest($"c{i}", hold.HoldId!))).Succeeded);
            }
        }

        var before = await journal.Store.ListSegmentsAsync(journal.Stream + "/", CancellationToken.None);
        Assert.True(before.Count >= 10, $"only {before.Count} segments");

        var sweep = await services.GetRequiredService<JournalRetention>().SweepAsync(CancellationToken.None);

        var after = await journal.Store.ListSegmentsAsync(journal.Stream + "/", CancellationToken.None);
        Assert.Equal(before.Count - sweep.SegmentsDeleted, after.Count);
        Assert.True(after.Count <= 2, $"{after.Count} segments left: {string.Join(", ", after)}");
        Assert.Equal(spaces.Length, sweep.SpacesSnapshotted);

        // Recovery no longer needs the deleted segments.
        foreach (var spaceId in spaces)
        {
            await _cluster.DeactivateAsync(_cluster.Client.GetGrain<ISpaceGrain>(spaceId));
            var balance = await _cluster.Client.GetGrain<ISpaceGrain>(spaceId).GetBalanceAsync();
            Assert.Equal(6 * 4, balance!.Used);
            Assert.Equal(0, balance.Held);
        }
    }
}
