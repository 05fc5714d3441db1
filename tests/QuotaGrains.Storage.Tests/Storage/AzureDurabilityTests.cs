using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Durable pools on real Azure storage APIs (Azurite): append-blob journal, snapshots and ledger in tables.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureDurabilityTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Acknowledged_operations_survive_a_killed_silo_and_are_replayed_once()
    {
        var serviceId = QuotaClusterFixture.NewId("svc");
        var time = AzureClusters.NewClock();
        var spaceId = QuotaClusterFixture.NewId("space");
        var holds = new List<ReserveResult>();
        long committed = 0;

        // Snapshots only at activation: everything after lives in the journal alone when the silo dies.
        var first = await AzureClusters.StartAsync(azurite.Azurite, serviceId, time, j => j.SnapshotEveryEvents = 1_000_000);
        try
        {
            var quota = first.Quota();
            Assert.True((await quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "ann", PlanTier.Ultra))).Succeeded);
            var user = first.Client.GetGrain<IUserGrain>("ann");
            var work = Enumerable.Range(0, 60).Select(async i =>
            {
                var reserved = await user.ReserveAsync(spaceId, new ReserveRequest($"h{i}", new GenerationSpec("ai-shadows"), 3));
                Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
                if (i % 3 == 0)
                {
                    var commit = await user.CommitAsync(spaceId, new SettleRequest($"c{i}", reserved.HoldId!));
                    Interlocked.Add(ref committed, commit.CommittedCredits);
                }

                return reserved;
            });
            holds.AddRange(await Task.WhenAll(work));
        }
        finally
        {
            // No graceful deactivation, no snapshot on the way out.
            await first.KillSiloAsync(first.Silos[0]);
            await first.DisposeAsync();
        }

        var second = await AzureClusters.StartAsync(azurite.Azurite, serviceId, time);
        try
        {
            var balance = await second.Quota().GetBalanceAsync(spaceId);
            Assert.Equal(committed, balance!.Used);
            Assert.Equal((60 * 3) - committed, balance.Held);
            Assert.Equal(40, balance.OpenHolds);

            // A request in flight at the kill, retried with its operation id, has exactly one outcome.
            var user = second.Client.GetGrain<IUserGrain>("ann");
            var retried = await user.ReserveAsync(spaceId, new ReserveRequest("h1", new GenerationSpec("ai-shadows"), 3));
            Assert.True(retried.Replayed);
            Assert.Equal(holds[1].HoldId, retried.HoldId);
            Assert.Equal(balance.Held, (await second.Quota().GetBalanceAsync(spaceId))!.Held);

            // The ledger in Azure Table got every replayed event exactly once: its pages, read in row-key order (each
            // row keyed by the sequence of its last entry, then its writer), hold the sequence numbers 1..81, none twice.
            await second.Client.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(spaceId).SnapshotAsync();
            var table = new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient("QuotaLedger");
            var rows = table.Query<TableEntity>(e => e.PartitionKey == spaceId).Where(AzureTableLedgerStore.IsPage).ToList();
            var stored = rows.SelectMany(AzureTableLedgerStore.EntriesOf).ToList();
            Assert.Equal(Enumerable.Range(1, 81).Select(i => (long)i), stored.Select(e => e.Sequence));
            Assert.All(rows, r => Assert.Equal(long.Parse(r.RowKey[..19], System.Globalization.CultureInfo.InvariantCulture), AzureTableLedgerStore.EntriesOf(r)[^1].Sequence));
            Assert.Equal(committed, stored.Where(e => e.Kind == "committed").Sum(e => e.Credits));
            var ledger = await second.Quota().GetLedgerAsync(spaceId, new LedgerQuery(PageSize: 1_000));
            Assert.Equal(stored, ledger.Entries);

            // Retention: the dead silo's stream is fenced, released (its Spaces snapshotted here) and deleted but for its
            // fence, which keeps a stale writer of it from opening a segment there again.
            var services = second.Silos[0].ServiceProvider;
            var journal = services.GetRequiredService<SiloJournalWriter>();
            var prefix = JournalLifecycle.ServicePrefix(serviceId);
            var streamsBefore = (await journal.Store.ListSegmentsAsync(prefix, CancellationToken.None)).Select(s => s[..s.LastIndexOf('/')]).Distinct().ToList();
            var dead = Assert.Single(streamsBefore, s => s != journal.Stream);
            var sweep = await services.GetRequiredService<JournalRetention>().SweepAsync(CancellationToken.None);
            Assert.Equal(1, sweep.OrphanStreams);
            var segmentsAfter = await journal.Store.ListSegmentsAsync(prefix, CancellationToken.None);
            var fence = Assert.Single(segmentsAfter, s => s.StartsWith(dead + "/", StringComparison.Ordinal));
            Assert.True(await journal.Store.IsFenceSegmentAsync(fence, CancellationToken.None));
            Assert.All(segmentsAfter.Where(s => s != fence), s => Assert.StartsWith(journal.Stream + "/", s));
            Assert.Equal(0, (await services.GetRequiredService<JournalRetention>().SweepAsync(CancellationToken.None)).OrphanStreams);
            await second.DeactivateAsync(second.Client.GetGrain<ISpaceGrain>(spaceId));
            var afterSweep = await second.Quota().GetBalanceAsync(spaceId);
            Assert.Equal((balance.Used, balance.Held), (afterSweep!.Used, afterSweep.Held));
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_deactivated_Space_reloads_from_its_Azure_snapshot_and_journal()
    {
        var time = AzureClusters.NewClock();
        var cluster = await AzureClusters.StartAsync(azurite.Azurite, QuotaClusterFixture.NewId("svc"), time, j => j.SnapshotEveryEvents = 5);
        try
        {
            var quota = cluster.Quota();
            var spaceId = QuotaClusterFixture.NewId("space");
            Assert.True((await quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "bea", PlanTier.Pro))).Succeeded);
            for (var i = 0; i < 12; i++)
            {
                await using var hold = await quota.ReserveAsync("bea", spaceId, new GenerationSpec("recolor", MediaKind.Image, ResolutionTier.Hd));
                Assert.True(hold.Succeeded, hold.Rejection?.ToString());
                await hold.CommitAsync();
            }

            var before = await quota.GetBalanceAsync(spaceId);
            await cluster.DeactivateAsync(cluster.Client.GetGrain<ISpaceGrain>(spaceId));
            var after = await quota.GetBalanceAsync(spaceId);
            Assert.Equal(12 * 8, after!.Used);
            Assert.Equal(before! with { AsOf = after.AsOf }, after);

            var state = new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient("QuotaState");
            Assert.Contains(state.Query<TableEntity>().ToList(), r => (r.PartitionKey + r.RowKey).Contains(spaceId, StringComparison.Ordinal));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
