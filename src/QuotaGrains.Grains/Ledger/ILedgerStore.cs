namespace QuotaGrains.Grains.Ledger;

/// <summary>The per-Space append-only ledger: pages of entries written in batches (<see cref="LedgerBatch"/>), each seen by
/// readers once a snapshot names it.</summary>
internal interface ILedgerStore
{
    /// <summary>Stores <paramref name="batch"/>'s pages of consecutive entries (<see cref="LedgerPageBuilder"/>,
    /// <see cref="LedgerPages.Paginate"/>), in sequence order, unseen until a snapshot names the batch; and records
    /// <paramref name="named"/> (the batch the activation's last snapshot named, if any) as seen from now on. Pages may
    /// overlap entries written before (a replay after a crash): each entry is read once.</summary>
    Task WriteAsync(string spaceId, LedgerBatch batch, IReadOnlyList<LedgerPageRow> pages, LedgerBatch? named, CancellationToken cancellationToken);

    /// <summary>Entries in sequence order matching <paramref name="query"/>, up to its page size: from the batches
    /// recorded as seen and from <paramref name="named"/> (the batch the reader's snapshot names), never from a batch no
    /// snapshot named.</summary>
    Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, LedgerBatch? named, CancellationToken cancellationToken);
}

/// <summary>The embedded ledger: the most recent <see cref="MaxEntriesPerSpace"/> entries of each Space (and at most one
/// page more), in memory, as the same JSON pages as the Azure ledger (a development store; the Azure ledger keeps
/// everything), with the same rule for what a reader sees (<see cref="LedgerBatch"/>).</summary>
/// <remarks>Pages, not an object per entry: a busy Space writes thousands of entries a second and each would live until
/// 10,000 newer ones pushed it out, long enough to be copied by every young collection (in the in-memory hot-Space
/// probe, p99 16 ms without this ledger against 20 ms with it as objects).</remarks>
internal sealed class MemoryLedgerStore(int maxEntriesPerSpace = MemoryLedgerStore.MaxEntriesPerSpace) : ILedgerStore
{
    public const int MaxEntriesPerSpace = 10_000;

    private readonly Dictionary<string, SpaceLedger> _spaces = new(StringComparer.Ordinal);

    public Task WriteAsync(string spaceId, LedgerBatch batch, IReadOnlyList<LedgerPageRow> pages, LedgerBatch? named, CancellationToken cancellationToken)
    {
        lock (_spaces)
        {
            if (!_spaces.TryGetValue(spaceId, out var ledger))
            {
                _spaces[spaceId] = ledger = new SpaceLedger();
            }

            if (named is not null)
            {
                ledger.Named[named.LastSequence] = named;
            }

            foreach (var page in pages)
            {
                var key = (page.LastSequence, batch.Writer);
                ledger.Entries += page.Count - (ledger.Pages.TryGetValue(key, out var earlier) ? earlier.Count : 0);
                ledger.Pages[key] = page;
            }

            while (ledger.Pages.Count > 1 && ledger.Pages.First() is var (_, oldest) && ledger.Entries - oldest.Count >= maxEntriesPerSpace)
            {
                ledger.Entries -= oldest.Count;
                ledger.Pages.Remove(ledger.Pages.First().Key);
            }

            // A batch that ends before the oldest page kept holds none of them.
            while (ledger.Pages.Count > 0 && ledger.Named.Count > 0 && ledger.Named.GetKeyAtIndex(0) < ledger.Pages.First().Key.Last)
            {
                ledger.Named.RemoveAt(0);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, LedgerBatch? named, CancellationToken cancellationToken)
    {
        (string Writer, LedgerPageRow Page)[] pages;
        LedgerBatch[] batches;
        lock (_spaces)
        {
            if (!_spaces.TryGetValue(spaceId, out var ledger))
            {
                return Task.FromResult<IReadOnlyList<LedgerEntry>>([]);
            }

            pages = ledger.Pages
                .Where(p => p.Key.Last > query.AfterSequence && (query.From is null || p.Value.LatestAt >= query.From) && (query.To is null || p.Value.EarliestAt < query.To))
                .Select(p => (p.Key.Writer, p.Value))
                .ToArray();
            batches = [.. ledger.Named.Values];
        }

        var answer = new LedgerQueryAnswer(query);
        var next = 0;
        foreach (var (writer, page) in pages)
        {
            while (next < batches.Length && batches[next].LastSequence < page.LastSequence)
            {
                next++;
            }

            var batch = LedgerBatch.FirstEnding(page.LastSequence, next < batches.Length ? batches[next] : null, named);
            if (batch is not null && batch.Holds(writer, page.FirstSequence, page.LastSequence) && !answer.Offer(LedgerPages.Decode(page.Json)))
            {
                break;
            }
        }

        return Task.FromResult<IReadOnlyList<LedgerEntry>>(answer.Entries);
    }

    private sealed class SpaceLedger
    {
        /// <summary>Pages by last sequence, then writer: those of batches no snapshot named (yet) too.</summary>
        public SortedDictionary<(long Last, string Writer), LedgerPageRow> Pages { get; } = new(PageKeyComparer.Instance);

        /// <summary>The batches snapshots named that were recorded, by last sequence.</summary>
        public SortedList<long, LedgerBatch> Named { get; } = [];

        public int Entries { get; set; }
    }

    private sealed class PageKeyComparer : IComparer<(long Last, string Writer)>
    {
        public static readonly PageKeyComparer Instance = new();

        public int Compare((long Last, string Writer) x, (long Last, string Writer) y)
        {
            var byLast = x.Last.CompareTo(y.Last);
            return byLast != 0 ? byLast : string.CompareOrdinal(x.Writer, y.Writer);
        }
    }
}
