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

    /// <summary>Every entry after 0, page by page as a dashboard reads them.</summary>
    public static async Task<List<LedgerEntry>> ReadAllAsync(ILedgerStore store, string spaceId, int pageSize)
    {
        var read = new List<LedgerEntry>();
        while (true)
        {
            var page = await store.QueryAsync(spaceId, new LedgerQuery(AfterSequence: read.Count > 0 ? read[^1].Sequence : 0, PageSize: pageSize), CancellationToken.None);
            read.AddRange(page);
            if (page.Count < pageSize)
            {
                return read;
            }
        }
    }
}
