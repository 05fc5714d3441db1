using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Tests.Storage;

public sealed class MemoryLedgerStoreTests
{
    [Fact]
    public async Task It_keeps_the_most_recent_entries_of_each_Space_and_pages_them_in_order()
    {
        var store = new MemoryLedgerStore();
        var all = LedgerTestData.Entries(1, 25_000);
        LedgerBatch? named = null;
        foreach (var write in all.Chunk(2_000))
        {
            named = await LedgerTestData.WriteBatchAsync(store, "busy", "w", write, named);
        }

        var quiet = await LedgerTestData.WriteBatchAsync(store, "quiet", "w", LedgerTestData.Entries(1, 3));

        var kept = await LedgerTestData.ReadAllAsync(store, "busy", pageSize: 1_000, named);
        Assert.InRange(kept.Count, MemoryLedgerStore.MaxEntriesPerSpace, MemoryLedgerStore.MaxEntriesPerSpace + 1_000);
        Assert.Equal(all[^kept.Count..], kept);
        Assert.Equal(LedgerTestData.Entries(1, 3), await LedgerTestData.ReadAllAsync(store, "quiet", pageSize: 2, quiet));
        Assert.Empty(await store.QueryAsync("none", new LedgerQuery(), null, CancellationToken.None));
    }

    [Fact]
    public async Task Replayed_writes_keep_each_entry_once_and_pages_no_snapshot_named_stay_unseen()
    {
        var store = new MemoryLedgerStore();
        var all = LedgerTestData.Entries(1, 120);

        // A batch written, then a crash before its snapshot: the next activation writes from the same point with more
        // entries and its snapshot names them; after another crash, the next writes on from there.
        await LedgerTestData.WriteBatchAsync(store, "s", "a", all[..50], maxBytes: 1_000);
        var b = await LedgerTestData.WriteBatchAsync(store, "s", "b", all[..90], maxBytes: 700);
        Assert.Empty(await store.QueryAsync("s", new LedgerQuery(), null, CancellationToken.None));
        var c = await LedgerTestData.WriteBatchAsync(store, "s", "c", all[90..], b, maxBytes: 1_000);

        Assert.Equal(all, await LedgerTestData.ReadAllAsync(store, "s", pageSize: 7, c));
        Assert.Equal(all[..90], await LedgerTestData.ReadAllAsync(store, "s", pageSize: 7, b));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task The_pages_of_an_owner_that_lost_the_snapshot_are_never_read(bool loserFirst) =>
        LedgerTestData.TwoOwnersAsync(new MemoryLedgerStore(), loserFirst);

    [Fact]
    public async Task A_time_range_returns_only_the_entries_inside_it()
    {
        var store = new MemoryLedgerStore();
        var named = await LedgerTestData.WriteBatchAsync(store, "s", "w", LedgerTestData.Entries(1, 100));

        var found = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), To: LedgerTestData.Start.AddMinutes(45)), named, CancellationToken.None);
        Assert.Equal([40L, 41, 42, 43, 44], found.Select(e => e.Sequence));
        var after = await store.QueryAsync("s", new LedgerQuery(From: LedgerTestData.Start.AddMinutes(40), AfterSequence: 97), named, CancellationToken.None);
        Assert.Equal([98L, 99, 100], after.Select(e => e.Sequence));
    }
}
