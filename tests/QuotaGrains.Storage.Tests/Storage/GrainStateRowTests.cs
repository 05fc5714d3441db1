using Azure.Data.Tables;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Each grain's state in a Table row of its own (row key = state name and grain key), and a state stored before
/// that layout, under the state name alone, still found.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class GrainStateRowTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_Space_has_a_row_of_its_own_and_a_state_under_the_old_shared_row_key_is_still_read_once_and_moved()
    {
        var spaceId = QuotaClusterFixture.NewId("space");
        var cluster = await AzureClusters.StartAsync(azurite.Azurite, QuotaClusterFixture.NewId("svc"), AzureClusters.NewClock());
        try
        {
            var space = cluster.Client.GetGrain<ISpaceGrain>(spaceId);
            var user = cluster.Client.GetGrain<IUserGrain>("rita");
            Assert.True((await space.CreateAsync(new CreateSpaceRequest("create", "rita", PlanTier.Pro))).Succeeded);
            var hold = await user.ReserveAsync(spaceId, new ReserveRequest("h1", ClusterTestExtensions.Recolor, 2));
            Assert.True((await user.CommitAsync(spaceId, new SettleRequest("c1", hold.HoldId!))).Succeeded);
            await cluster.DeactivateAsync(space);

            var table = new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient("QuotaState");
            var own = await RowsAsync(table, $"space_{spaceId}");
            Assert.Single(own);

            // As an engine before the per-grain layout stored it: the same entity under the row key "space".
            var old = new TableEntity(own[0]) { RowKey = "space" };
            await table.UpsertEntityAsync(old, TableUpdateMode.Replace);
            await table.DeleteEntityAsync(own[0].PartitionKey, own[0].RowKey);
            var oldETag = (await table.GetEntityAsync<TableEntity>(old.PartitionKey, "space")).Value.ETag;

            var read = await space.GetBalanceAsync();
            Assert.Equal((8L, 0L), (read!.Used, read.Held));

            // The first write creates the Space's own row; the old one is left as it was and no longer read.
            Assert.True((await user.ReserveAsync(spaceId, new ReserveRequest("h2", ClusterTestExtensions.Shadows, 3))).Succeeded);
            Assert.Single(await RowsAsync(table, $"space_{spaceId}"));
            await cluster.DeactivateAsync(space);
            var after = await space.GetBalanceAsync();
            Assert.Equal((8L, 3L, 1), (after!.Used, after.Held, after.OpenHolds));
            Assert.Equal(oldETag, (await table.GetEntityAsync<TableEntity>(old.PartitionKey, "space")).Value.ETag);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    private static async Task<List<TableEntity>> RowsAsync(TableClient table, string rowKey)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"RowKey eq {rowKey}")))
        {
            rows.Add(row);
        }

        return rows;
    }
}
