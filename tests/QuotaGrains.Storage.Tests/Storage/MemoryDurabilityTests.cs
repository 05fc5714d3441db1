using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The journal, snapshot and ledger path with the embedded (memory) stores: the same code as Azure.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class MemoryDurabilityTests(QuotaClusterFixture fixture)
{
    private FaultyJournalStore JournalStore => fixture.JournalStore;

    [Fact]
    public async Task A_reactivated_Space_recovers_every_acknowledged_operation_from_snapshot_and_journal()
    {
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "alice", members: ["bob"]);
        var user = fixture.Grains.GetGrain<IUserGrain>("bob");
        for (var i = 0; i < 20; i++)
        {
            var reserved = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-h{i}", new GenerationSpec("recolor"), 2));
            Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
            if (i % 4 != 3)
            {
                Assert.True((await user.CommitAsync(spaceId, new SettleRequest($"{spaceId}-c{i}", reserved.HoldId!, [0]))).Succeeded);
            }
        }

        var before = await fixture.Quota.GetBalanceAsync(spaceId);
        await fixture.Cluster.DeactivateAsync(fixture.Grains.GetGrain<ISpaceGrain>(spaceId));
        var after = await fixture.Quota.GetBalanceAsync(spaceId);

        Assert.Equal(before! with { AsOf = after!.AsOf }, after);
        Assert.Equal(15 * 4, after.Used);
        Assert.Equal((15 * 4) + (5 * 8), after.Held);

        // A retry of an acknowledged reserve still finds its one outcome after the reload.
        var retry = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-h0", new GenerationSpec("recolor"), 2));
        Assert.True(retry.Replayed);
        Assert.Equal(after.Held, (await fixture.Quota.GetBalanceAsync(spaceId))!.Held);
    }

    [Fact]
    public async Task The_ledger_holds_every_event_once_in_sequence_order()
    {
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Max, "carol", members: ["dan"]);
        var user = fixture.Grains.GetGrain<IUserGrain>("dan");
        var hold = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-h", new GenerationSpec("virtual-model", MediaKind.Video), 3));
        await user.CommitAsync(spaceId, new SettleRequest($"{spaceId}-c", hold.HoldId!, [0, 2]));
        await user.RefundAsync(spaceId, new SettleRequest($"{spaceId}-r", hold.HoldId!));
        await fixture.Cluster.DeactivateAsync(fixture.Grains.GetGrain<ISpaceGrain>(spaceId));

        var page = await fixture.Grains.GetGrain<ISpaceGrain>(spaceId).GetLedgerAsync(new LedgerQuery(PageSize: 3));
        var rest = await fixture.Grains.GetGrain<ISpaceGrain>(spaceId).GetLedgerAsync(new LedgerQuery(AfterSequence: page.NextAfterSequence!.Value));
        var entries = page.Entries.Concat(rest.Entries).ToList();

        Assert.Equal(["created", "member-added", "reserved", "committed", "refunded"], entries.Select(e => e.Kind));
        Assert.Equal([1L, 2, 3, 4, 5], entries.Select(e => e.Sequence));
        Assert.Equal([1500L, 0, 60, 40, 20], entries.Select(e => e.Credits));
        Assert.Null(rest.NextAfterSequence);
    }

    [Fact]
    public async Task A_failed_journal_append_acknowledges_nothing_and_a_retry_has_exactly_one_outcome()
    {
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "erin");
        var user = fixture.Grains.GetGrain<IUserGrain>("erin");
        var request = new ReserveRequest($"{spaceId}-h", new GenerationSpec("ai-video", MediaKind.Video), 2);

        JournalStore.AppendFault = (_, _) => new IOException("injected append failure");
        try
        {
            await Assert.ThrowsAsync<QuotaUnavailableException>(() => user.ReserveAsync(spaceId, request));
        }
        finally
        {
            JournalStore.AppendFault = null;
        }

        // The Space reloaded from durable state: the failed reserve is not there, and the retry decides it once.
        var retried = await user.ReserveAsync(spaceId, request);
        Assert.True(retried.Succeeded, retried.Rejection?.ToString());
        var again = await user.ReserveAsync(spaceId, request);
        Assert.True(again.Replayed);
        var balance = await fixture.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(40, balance!.Held);
        Assert.Equal(1, balance.OpenHolds);
    }

    [Fact]
    public async Task A_second_writer_of_the_same_Space_makes_the_first_fail_closed_on_its_next_snapshot()
    {
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "hana");
        var user = fixture.Grains.GetGrain<IUserGrain>("hana");
        var kept = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-kept", new GenerationSpec("recolor")));
        Assert.True(kept.Succeeded);

        // Another writer (as a second activation would) rewrites the snapshot: the active one's ETag is now stale.
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>("quota");
        var grainId = fixture.Grains.GetGrain<ISpaceGrain>(spaceId).GetGrainId();
        var other = new GrainState<SpaceSnapshot>(new SpaceSnapshot());
        await storage.ReadStateAsync("space", grainId, other);
        await storage.WriteStateAsync("space", grainId, other);

        await Assert.ThrowsAsync<QuotaUnavailableException>(() => fixture.Grains.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(spaceId).SnapshotAsync());

        // Failed closed: nothing more is acknowledged by that activation; the next one reloads from storage.
        ReserveResult? after = null;
        for (var attempt = 0; attempt < 50 && after is null; attempt++)
        {
            try
            {
                after = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-after", new GenerationSpec("recolor")));
            }
            catch (QuotaUnavailableException)
            {
                await Task.Yield();
            }
        }

        Assert.True(after is { Succeeded: true }, after?.Rejection?.ToString());
        var ledger = await fixture.Quota.GetLedgerAsync(spaceId, new LedgerQuery());
        Assert.Contains(ledger.Entries, e => e.Kind == "reserved" && e.HoldId == $"{spaceId}-kept");
    }

    [Fact]
    public async Task A_legacy_Space_with_two_pools_is_migrated_once_losing_and_inventing_nothing()
    {
        var spaceId = QuotaClusterFixture.NewId("legacy");
        var now = fixture.Time.GetUtcNow();
        var legacy = new SpaceState
        {
            Created = true,
            Sequence = 7,
            LastEventAt = now.AddDays(-3),
            Plan = PlanTier.Max,
            Cadence = BillingCadence.Monthly,
            Anchor = now.AddDays(-10),
            CycleStart = now.AddDays(-10),
            NextRenewal = now.AddDays(20),
            CatalogVersion = 1,
            OwnerUserId = "frank",
            Members = new(StringComparer.Ordinal) { ["frank"] = SpaceRole.Owner },
            LegacyPools = new LegacyPools { ImageAllowance = 1_000, ImageUsed = 300, VideoAllowance = 500, VideoUsed = 120 },
        };
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>("quota");
        var grainId = fixture.Grains.GetGrain<ISpaceGrain>(spaceId).GetGrainId();
        await storage.WriteStateAsync("space", grainId, new GrainState<SpaceSnapshot>(new SpaceSnapshot { State = legacy }));

        var balance = await fixture.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(1_500, balance!.Allowance);
        Assert.Equal(420, balance.Used);

        // Once: a reload finds the unified pool and migrates nothing again.
        await fixture.Cluster.DeactivateAsync(fixture.Grains.GetGrain<ISpaceGrain>(spaceId));
        var reloaded = await fixture.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(1_500, reloaded!.Allowance);
        Assert.Equal(420, reloaded.Used);
        var ledger = await fixture.Grains.GetGrain<ISpaceGrain>(spaceId).GetLedgerAsync(new LedgerQuery());
        var migrated = Assert.Single(ledger.Entries, e => e.Kind == "migrated");
        Assert.Equal(8, migrated.Sequence);
    }
}

/// <summary>The cluster tests' shared cluster, for this assembly: xunit reads collection definitions only in the
/// assembly of the tests that name them.</summary>
[CollectionDefinition(QuotaClusterCollection.Name)]
public sealed class MemoryDurabilityCollection : ICollectionFixture<QuotaClusterFixture>;
