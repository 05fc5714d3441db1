using Azure.Data.Tables;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The ledger's pages on Azurite: every entry comes back once, in order, whatever replays wrote; pages no
/// snapshot named are never read.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTableLedgerStoreTests(AzuriteFixture fixture)
{
    [Fact]
    public async Task Entries_are_packed_into_pages_under_the_property_limit_and_read_back_exactly()
    {
        var table = NewTable();
        var store = new AzureTableLedgerStore(table);
        var entries = LedgerTestData.Entries(1, 2_000);

        var named = await LedgerTestData.WriteBatchAsync(store, "space/1", "w", entries);

        var rows = table.Query<TableEntity>().ToList();
        Assert.InRange(rows.Count, 2, 20);
        Assert.All(rows, r => Assert.InRange(r.GetBinary("Entries")!.Length, 1, AzureTableLedgerStore.MaxPageBytes));
        Assert.Equal(2_000, rows.Sum(r => r.GetInt32("Count")!.Value));
        Assert.Equal(entries, await LedgerTestData.ReadAllAsync(store, "space/1", pageSize: 1_000, named));
        Assert.Empty(await LedgerTestData.ReadAllAsync(store, "space/1", pageSize: 1_000, named: null));
        Assert.Empty(await store.QueryAsync("space/2", new LedgerQuery(), named, CancellationToken.None));
    }

    [Fact]
    public async Task Replays_cut_at_other_places_still_give_each_entry_once()
    {
        var table = NewTable();
        var store = new AzureTableLedgerStore(table);
        var all = LedgerTestData.Entries(1, 120);

        // A batch written, then a crash before its snapshot: the next activation writes from the same point with more
        // entries, cut into pages at other places, and its snapshot names them; after another crash, the next writes
        // on from there.
        await LedgerTestData.WriteBatchAsync(store, "s", "a", all[..50], maxBytes: 1_000);
        var b = await LedgerTestData.WriteBatchAsync(store, "s", "b", all[..90], maxBytes: 700);
        var c = await LedgerTestData.WriteBatchAsync(store, "s", "c", all[90..], b, maxBytes: 1_000);

        var rows = table.Query<TableEntity>().ToList();
        Assert.True(rows.Count > 6, $"{rows.Count} pages");
        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 7, c));
        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 1_000, c));
        Assert.Equal(all[..90], await LedgerTestData.ReadAllAsync(store, "s", pageSize: 7, b));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task The_pages_of_an_owner_that_lost_the_snapshot_are_never_read(bool loserFirst) =>
        LedgerTestData.TwoOwnersAsync(new AzureTableLedgerStore(NewTable()), loserFirst);

    [Fact]
    public async Task A_time_range_returns_only_the_entries_inside_it()
    {
        var store = new AzureTableLedgerStore(NewTable());
        var all = LedgerTestData.Entries(1, 100);
        var named = await LedgerTestData.WriteBatchAsync(store, "s", "w", all, maxBytes: 800);

        // Entry n is at Start + n minutes.
        var found = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), To: LedgerTestData.Start.AddMinutes(45), PageSize: 100), named, CancellationToken.None);
        Assert.Equal([40L, 41, 42, 43, 44], found.Select(e => e.Sequence));

        var after = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), AfterSequence: 97, PageSize: 100), named, CancellationToken.None);
        Assert.Equal([98L, 99, 100], after.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Rows_of_one_entry_written_before_pages_are_read_alongside_pages()
    {
        var table = NewTable();
        var store = new AzureTableLedgerStore(table);
        var all = LedgerTestData.Entries(1, 30);
        foreach (var legacy in all[..10])
        {
            await table.AddEntityAsync(new TableEntity("s", legacy.Sequence.ToString("D19"))
            {
                ["At"] = legacy.At, ["Kind"] = legacy.Kind, ["Credits"] = legacy.Credits, ["OperationId"] = legacy.OperationId,
                ["UserId"] = legacy.UserId, ["HoldId"] = legacy.HoldId, ["Items"] = legacy.Items, ["Detail"] = legacy.Detail,
            });
        }

        var named = await LedgerTestData.WriteBatchAsync(store, "s", "w", all[10..]);

        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 4, named));
        var range = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(8), To: LedgerTestData.Start.AddMinutes(12)), named, CancellationToken.None);
        Assert.Equal([8L, 9, 10, 11], range.Select(e => e.Sequence));
    }


    private TableClient NewTable()
    {
        var table = new TableServiceClient(fixture.Azurite.ConnectionString).GetTableClient(QuotaClusterFixture.NewId("ledger").Replace("-", "", StringComparison.Ordinal));
        table.CreateIfNotExists();
        return table;
    }
}
