namespace QuotaGrains.Grains.Ledger;

/// <summary>The per-Space append-only ledger. Entries are keyed by sequence number: writing one twice is harmless.</summary>
public interface ILedgerStore
{
    Task WriteAsync(string spaceId, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken);

    /// <summary>Entries in sequence order matching <paramref name="query"/>, up to its page size.</summary>
    Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, CancellationToken cancellationToken);
}

/// <summary>The embedded ledger: the most recent <see cref="MaxEntriesPerSpace"/> entries of each Space, in memory
/// (a development store; the Azure ledger keeps everything).</summary>
public sealed class MemoryLedgerStore : ILedgerStore
{
    public const int MaxEntriesPerSpace = 10_000;

    private readonly Dictionary<string, SortedDictionary<long, LedgerEntry>> _spaces = new(StringComparer.Ordinal);

    public Task WriteAsync(string spaceId, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        lock (_spaces)
        {
            if (!_spaces.TryGetValue(spaceId, out var ledger))
            {
                _spaces[spaceId] = ledger = [];
            }

            foreach (var entry in entries)
            {
                ledger[entry.Sequence] = entry;
            }

            while (ledger.Count > MaxEntriesPerSpace)
            {
                ledger.Remove(ledger.Keys.First());
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, CancellationToken cancellationToken)
    {
        lock (_spaces)
        {
            IReadOnlyList<LedgerEntry> page = !_spaces.TryGetValue(spaceId, out var ledger) ? [] : ledger.Values
                .Where(e => e.Sequence > query.AfterSequence && (query.From is null || e.At >= query.From) && (query.To is null || e.At < query.To))
                .Take(query.PageSize)
                .ToList();
            return Task.FromResult(page);
        }
    }
}
