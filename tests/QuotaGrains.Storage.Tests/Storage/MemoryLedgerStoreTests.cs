using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Tests.Storage;

public sealed class MemoryLedgerStoreTests
{
    [Fact]
    public async Task It_keeps_the_most_recent_entries_of_each_Space_and_pages_them_in_order()
    {
        var store = new MemoryLedgerStore();
        var all = LedgerTestData.Entries(1, 25_000);
        foreach (var write in all.Chunk(2_000))
        {
            await store.WriteAsync("busy", LedgerPages.Paginate(write), CancellationToken.None);
        }

        await store.WriteAsync("quiet", LedgerPages.Paginate(LedgerTestData.Entries(1, 3)), CancellationToken.None);

        var kept = await LedgerTestData.ReadAllAsync(store, "busy", pageSize: 1_000);
        Assert.InRange(kept.Count, MemoryLedgerStore.MaxEntriesPerSpace, MemoryLedgerStore.MaxEntriesPerSpace + 1_000);
        Assert.Equal(all[^kept.Count..], kept);
        Assert.Equal(LedgerTestData.Entries(1, 3), await LedgerTestData.ReadAllAsync(store, "quiet", pageSize: 2));
        Assert.Empty(await store.QueryAsync("none", new LedgerQuery(), CancellationToken.None));
    }

    [Fact]
    public async Task Replayed_writes_keep_each_entry_once()
    {
        var store = new MemoryLedgerStore();
        var all = LedgerTestData.Entries(1, 120);
        await store.WriteAsync("s", LedgerPages.Paginate(all[..50], maxBytes: 1_000), CancellationToken.None);
        await store.WriteAsync("s", LedgerPages.Paginate(all[..90], maxBytes: 1_000), CancellationToken.None);
        await store.WriteAsync("s", LedgerPages.Paginate(all[37..], maxBytes: 1_000), CancellationToken.None);

        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 7));
    }

    [Fact]
    public async Task A_time_range_returns_only_the_entries_inside_it()
    {
        var store = new MemoryLedgerStore();
        await store.WriteAsync("s", LedgerPages.Paginate(LedgerTestData.Entries(1, 100)), CancellationToken.None);

        var found = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), To: LedgerTestData.Start.AddMinutes(45)), CancellationToken.None);
        Assert.Equal([40L, 41, 42, 43, 44], found.Select(e => e.Sequence));
        var after = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), AfterSequence: 97), CancellationToken.None);
        Assert.Equal([98L, 99, 100], after.Select(e => e.Sequence));
    }
}
