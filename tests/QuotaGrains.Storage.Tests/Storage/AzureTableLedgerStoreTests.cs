using Azure.Data.Tables;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The ledger's pages on Azurite: every entry comes back once, in order, whatever replays wrote.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureTableLedgerStoreTests(AzuriteFixture fixture)
{
    [Fact]
    public async Task Entries_are_packed_into_pages_under_the_property_limit_and_read_back_exactly()
    {
        var table = NewTable();
        var store = new AzureTableLedgerStore(table);
        var entries = LedgerTestData.Entries(1, 2_000);

        await store.WriteAsync("space/1", LedgerPages.Paginate(entries), CancellationToken.None);

        var rows = table.Query<TableEntity>().ToList();
        Assert.InRange(rows.Count, 2, 20);
        Assert.All(rows, r => Assert.InRange(r.GetBinary("Entries")!.Length, 1, AzureTableLedgerStore.MaxPageBytes));
        Assert.Equal(2_000, rows.Sum(r => r.GetInt32("Count")!.Value));
        Assert.Equal(entries, await LedgerTestData.ReadAllAsync(store, "space/1", pageSize: 1_000));
        Assert.Empty(await store.QueryAsync("space/2", new LedgerQuery(), CancellationToken.None));
    }

    [Fact]
    public async Task Replays_cut_at_other_places_still_give_each_entry_once()
    {
        var table = NewTable();
        var store = new AzureTableLedgerStore(table);
        var all = LedgerTestData.Entries(1, 120);

        // A snapshot's ledger write, then a crash before its snapshot: the recovery writes again from the same point
        // with more entries, then from a later snapshot; a third write starts mid-way, so pages overlap and are cut
        // at different sequences.
        await store.WriteAsync("s", LedgerPages.Paginate(all[..50], maxBytes: 1_000), CancellationToken.None);
        await store.WriteAsync("s", LedgerPages.Paginate(all[..90], maxBytes: 1_000), CancellationToken.None);
        await store.WriteAsync("s", LedgerPages.Paginate(all[37..], maxBytes: 1_000), CancellationToken.None);

        var rows = table.Query<TableEntity>().ToList();
        Assert.True(rows.Count > 6, $"{rows.Count} pages");
        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 7));
        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 1_000));
    }

    [Fact]
    public async Task A_time_range_returns_only_the_entries_inside_it()
    {
        var store = new AzureTableLedgerStore(NewTable());
        var all = LedgerTestData.Entries(1, 100);
        await store.WriteAsync("s", LedgerPages.Paginate(all, maxBytes: 800), CancellationToken.None);

        // Entry n is at Start + n minutes.
        var found = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), To: LedgerTestData.Start.AddMinutes(45), PageSize: 100), CancellationToken.None);
        Assert.Equal([40L, 41, 42, 43, 44], found.Select(e => e.Sequence));

        var after = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), AfterSequence: 97, PageSize: 100), CancellationToken.None);
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

        await store.WriteAsync("s", LedgerPages.Paginate(all[10..]), CancellationToken.None);

        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 4));
        var range = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(8), To: LedgerTestData.Start.AddMinutes(12)), CancellationToken.None);
        Assert.Equal([8L, 9, 10, 11], range.Select(e => e.Sequence));
    }


    private TableClient NewTable()
    {
        var table = new TableServiceClient(fixture.Azurite.ConnectionString).GetTableClient(QuotaClusterFixture.NewId("ledger").Replace("-", "", StringComparison.Ordinal));
        table.CreateIfNotExists();
        return table;
    }
}
