using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Tests.Storage;

/// <summary>Ledger entries for the store tests: entry n is at <see cref="Start"/> + n minutes.</summary>
internal static class LedgerTestData
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 8, 0, 0, TimeSpan.Zero);

    public static LedgerEntry[] Entries(int first, int count) => Enumerable.Range(first, count)
        .Select(n => n % 3 == 0
            ? new LedgerEntry(n, Start.AddMinutes(n), "committed", 40, $"commit-{n}", HoldId: $"hold-{n - 1}", Items: 1)
            : new LedgerEntry(n, Start.AddMinutes(n), "reserved", 40 + n, $"op-{n}", $"user-{n % 7}", $"op-{n}", 1, "image-gen image hd"))
        .ToArray();

    /// <summary>Writes <paramref name="entries"/> as one batch of <paramref name="writer"/>'s, recording
    /// <paramref name="named"/>; returns the batch, for the snapshot that follows to name.</summary>
    public static async Task<LedgerBatch> WriteBatchAsync(ILedgerStore store, string spaceId, string writer, IReadOnlyList<LedgerEntry> entries, LedgerBatch? named = null, int maxBytes = LedgerPages.MaxPageBytes)
    {
        var batch = new LedgerBatch(writer, entries[0].Sequence, entries[^1].Sequence);
        await store.WriteAsync(spaceId, batch, LedgerPages.Paginate(entries, maxBytes), named, CancellationToken.None);
        return batch;
    }

    /// <summary>Two owners of a Space, both recovered from the snapshot that named batch a (1..40): the loser's pages
    /// for 41..60 hold other events than the winner's (it lost the snapshot's ETag race, so no snapshot names them); the
    /// winner's batches 41..55 and 56..70 are named in turn, the first recorded with the second. Whichever wrote first,
    /// a reader sees a's and the winner's entries only, each once, by pages of any size, and in a time range.</summary>
    public static async Task TwoOwnersAsync(ILedgerStore store, bool loserFirst)
    {
        var truth = Entries(1, 70);
        var theirs = Entries(41, 20).Select(e => e with { Kind = "expired", Credits = 1, OperationId = null }).ToArray();
        var a = await WriteBatchAsync(store, "s", "a", truth[..40], maxBytes: 1_000);
        if (loserFirst)
        {
            await WriteBatchAsync(store, "s", "loser", theirs, named: a, maxBytes: 700);
        }

        var w1 = await WriteBatchAsync(store, "s", "winner", truth[40..55], named: a, maxBytes: 1_000);
        Assert.Equal(truth[..55], await ReadAllAsync(store, "s", pageSize: 1_000, named: w1));
        if (!loserFirst)
        {
            await WriteBatchAsync(store, "s", "loser", theirs, named: a, maxBytes: 700);
        }

        var w2 = await WriteBatchAsync(store, "s", "winner", truth[55..], named: w1, maxBytes: 1_000);
        Assert.Equal(truth, await ReadAllAsync(store, "s", pageSize: 7, named: w2));
        Assert.Equal(truth, await ReadAllAsync(store, "s", pageSize: 1_000, named: w2));

        // A reader whose snapshot still names w1 (w2's snapshot not yet written) sees through 55 only.
        Assert.Equal(truth[..55], await ReadAllAsync(store, "s", pageSize: 1_000, named: w1));
        var range = await store.QueryAsync("s", new LedgerQuery(From: Start.AddMinutes(50), To: Start.AddMinutes(58)), w2, CancellationToken.None);
        Assert.Equal(truth[49..57], range);
    }

    /// <summary>Every entry after 0, page by page as a dashboard reads them, with the batch the reader's snapshot
    /// names.</summary>
    public static async Task<List<LedgerEntry>> ReadAllAsync(ILedgerStore store, string spaceId, int pageSize, LedgerBatch? named)
    {
        var read = new List<LedgerEntry>();
        while (true)
        {
            var page = await store.QueryAsync(spaceId, new LedgerQuery(AfterSequence: read.Count > 0 ? read[^1].Sequence : 0, PageSize: pageSize), named, CancellationToken.None);
            read.AddRange(page);
            if (page.Count < pageSize)
            {
                return read;
            }
        }
    }
}
