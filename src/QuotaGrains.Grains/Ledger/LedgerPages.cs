using System.Text.Json;
using System.Text.Json.Serialization;

namespace QuotaGrains.Grains.Ledger;

/// <summary>Ledger entries packed into pages of consecutive entries, each a JSON array: the Azure ledger's rows, and
/// what the in-memory ledger keeps.</summary>
internal static class LedgerPages
{
    /// <summary>An Azure Table binary property holds at most 64 KiB.</summary>
    public const int MaxPageBytes = 60 * 1024;

    /// <summary>Consecutive entries, in sequence order, cut into pages of at most <paramref name="maxBytes"/> bytes of
    /// JSON (an entry larger than that alone fills a page).</summary>
    public static IEnumerable<LedgerPageRow> Paginate(IEnumerable<LedgerEntry> entries, int maxBytes)
    {
        var page = new List<LedgerEntry>();
        var json = new MemoryStream();
        foreach (var entry in entries.OrderBy(e => e.Sequence))
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(entry, LedgerJson.Default.LedgerEntry);
            if (page.Count > 0 && json.Length + 1 + bytes.Length + 1 > maxBytes)
            {
                yield return Close(page, json);
                page = [];
                json = new MemoryStream();
            }

            json.WriteByte(page.Count == 0 ? (byte)'[' : (byte)',');
            json.Write(bytes);
            page.Add(entry);
        }

        if (page.Count > 0)
        {
            yield return Close(page, json);
        }

        static LedgerPageRow Close(List<LedgerEntry> page, MemoryStream json)
        {
            json.WriteByte((byte)']');
            return new LedgerPageRow(page[0].Sequence, page[^1].Sequence, page.Count, page.Min(e => e.At), page.Max(e => e.At), json.ToArray());
        }
    }

    public static IReadOnlyList<LedgerEntry> Decode(byte[] json) => JsonSerializer.Deserialize(json, LedgerJson.Default.LedgerEntryArray) ?? [];
}

/// <summary>One ledger page: entries <see cref="FirstSequence"/>..<see cref="LastSequence"/> as a JSON array.</summary>
internal sealed record LedgerPageRow(long FirstSequence, long LastSequence, int Count, DateTimeOffset EarliestAt, DateTimeOffset LatestAt, byte[] Json);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault)]
[JsonSerializable(typeof(LedgerEntry))]
[JsonSerializable(typeof(LedgerEntry[]))]
internal sealed partial class LedgerJson : JsonSerializerContext;
