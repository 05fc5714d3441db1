using System.Text.Json;
using System.Text.Json.Serialization;

namespace QuotaGrains.Grains.Ledger;

/// <summary>Ledger entries packed into pages of consecutive entries, each a JSON array: the Azure ledger's rows, and
/// what the in-memory ledger keeps.</summary>
internal static class LedgerPages
{
    /// <summary>An Azure Table binary property holds at most 64 KiB.</summary>
    public const int MaxPageBytes = 60 * 1024;

    /// <summary>Entries, in sequence order, cut into pages of at most <paramref name="maxBytes"/> bytes of JSON (an
    /// entry larger than that alone fills a page).</summary>
    public static IReadOnlyList<LedgerPageRow> Paginate(IEnumerable<LedgerEntry> entries, int maxBytes = MaxPageBytes)
    {
        var builder = new LedgerPageBuilder(maxBytes);
        foreach (var entry in entries.OrderBy(e => e.Sequence))
        {
            builder.Add(entry);
        }

        return builder.Seal();
    }

    public static IReadOnlyList<LedgerEntry> Decode(byte[] json) => JsonSerializer.Deserialize(json, LedgerJson.Default.LedgerEntryArray) ?? [];
}

/// <summary>A query's answer, gathered from pages read in sequence order: each entry once (pages may overlap: an entry at
/// or below the last one offered is skipped), inside the query's time range, up to its page size.</summary>
internal sealed class LedgerQueryAnswer(LedgerQuery query)
{
    private long _seen = query.AfterSequence;

    public List<LedgerEntry> Entries { get; } = new(Math.Min(query.PageSize, 1_000));

    /// <summary>Takes what <paramref name="page"/> adds; false once the answer is full.</summary>
    public bool Offer(IReadOnlyList<LedgerEntry> page)
    {
        foreach (var entry in page)
        {
            if (entry.Sequence <= _seen)
            {
                continue;
            }

            _seen = entry.Sequence;
            if ((query.From is null || entry.At >= query.From) && (query.To is null || entry.At < query.To))
            {
                Entries.Add(entry);
                if (Entries.Count == query.PageSize)
                {
                    return false;
                }
            }
        }

        return true;
    }
}

/// <summary>One ledger page: entries <see cref="FirstSequence"/>..<see cref="LastSequence"/> as a JSON array.</summary>
internal sealed record LedgerPageRow(long FirstSequence, long LastSequence, int Count, DateTimeOffset EarliestAt, DateTimeOffset LatestAt, byte[] Json);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(LedgerEntry))]
[JsonSerializable(typeof(LedgerEntry[]))]
internal sealed partial class LedgerJson : JsonSerializerContext;
