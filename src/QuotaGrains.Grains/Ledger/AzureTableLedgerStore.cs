using System.Globalization;
using System.Text;
using Azure.Data.Tables;

namespace QuotaGrains.Grains.Ledger;

/// <summary>
/// The ledger in Azure Table: a partition per Space, each row a page of consecutive entries (JSON, up to 60 KiB), row key
/// = the zero-padded sequence number of the page's last entry and the id of the activation that wrote it, written in
/// batch transactions; and a row per batch of pages that a snapshot named (<see cref="LedgerBatch"/>), row key '~' and
/// the batch's last sequence number, after every page row.
/// </summary>
/// <remarks>
/// Pages rather than a row per entry: a Table partition takes about 2,000 entities/s on Azure Storage, and Azurite
/// spends about 0.1 ms of its one thread on each entity of a batch whatever its size (12k entities/s with one
/// property, 95k entries/s packed 100 to a row, measured here), so a row per entry caps a busy Space's ledger, and with
/// it the snapshots, well below what its journal takes. A replay after a crash writes again the entries after the last
/// snapshot, possibly cut into pages at other places: pages are read in row-key order and an entry at or below the last
/// one read is skipped, so each entry comes back once. A page is read only if a snapshot named its batch: an
/// activation that lost the snapshot's ETag race to another (two owners) wrote its pages under its own id, so they
/// neither replace the winner's rows nor are read. Rows written before batches (no writer) are read as they are.
/// </remarks>
internal sealed class AzureTableLedgerStore(TableClient table) : ILedgerStore
{
    /// <summary>A binary property holds at most 64 KiB.</summary>
    public const int MaxPageBytes = LedgerPages.MaxPageBytes;

    /// <summary>A transaction holds at most 100 entities and 4 MiB; binary travels as base64.</summary>
    private const int MaxPagesPerTransaction = 40;

    /// <summary>Batch rows' keys start with it: it sorts after the digits that start page rows' keys.</summary>
    private const string BatchPrefix = "~";

    /// <summary>Row keys start with the sequence number, zero-padded to this many digits.</summary>
    private const int SequenceDigits = 19;

    private Task? _tableReady;

    public async Task WriteAsync(string spaceId, LedgerBatch batch, IReadOnlyList<LedgerPageRow> pages, LedgerBatch? named, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var partition = PartitionKeyOf(spaceId);
        var first = true;
        foreach (var chunk in pages.Chunk(MaxPagesPerTransaction))
        {
            var actions = chunk.Select(page => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, batch.Writer, page))).ToList();
            if (first && named is not null)
            {
                // Recorded before the snapshot that stops naming it is written: readers go on seeing its pages.
                actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, named)));
            }

            first = false;
            await table.SubmitTransactionAsync(actions, cancellationToken);
        }
    }

    public async Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, LedgerBatch? named, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var partition = PartitionKeyOf(spaceId);
        var filter = new StringBuilder(TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {RowKeyOf(query.AfterSequence)} and RowKey lt {BatchPrefix}"));
        if (query.From is { } from)
        {
            // Pages with an entry at or after From (rows of one entry, written before pages, have only At).
            filter.Append(" and ").Append(TableClient.CreateQueryFilter($"(LatestAt ge {from} or At ge {from})"));
        }

        if (query.To is { } to)
        {
            filter.Append(" and ").Append(TableClient.CreateQueryFilter($"(EarliestAt lt {to} or At lt {to})"));
        }

        var answer = new LedgerQueryAnswer(query);
        await using var recorded = new RecordedBatches(table, partition, cancellationToken);
        await foreach (var row in table.QueryAsync<TableEntity>(filter.ToString(), maxPerPage: 16, cancellationToken: cancellationToken))
        {
            if (row.GetString("Writer") is { } writer)
            {
                var last = long.Parse(row.RowKey.AsSpan(0, SequenceDigits), CultureInfo.InvariantCulture);
                var batch = LedgerBatch.FirstEnding(last, await recorded.FirstEndingAsync(last), named);
                if (batch is null || !batch.Holds(writer, row.GetInt64("FirstSequence") ?? 0, last))
                {
                    continue;
                }
            }

            if (!answer.Offer(EntriesOf(row)))
            {
                break;
            }
        }

        return answer.Entries;
    }

    /// <summary>One creation shared by every caller (after a restart thousands of Spaces write their first pages at once;
    /// each asking the service was a request apiece); a failed one is tried again by the next caller.</summary>
    private Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        var ready = Volatile.Read(ref _tableReady);
        if (ready is { IsCompletedSuccessfully: true })
        {
            return ready;
        }

        if (ready is null || ready.IsFaulted || ready.IsCanceled)
        {
            Interlocked.CompareExchange(ref _tableReady, table.CreateIfNotExistsAsync(CancellationToken.None), ready);
        }

        return Volatile.Read(ref _tableReady)!.WaitAsync(cancellationToken);
    }

    /// <summary>Table keys may not hold '/', '\', '#', '?' or control characters: escape them (and '%').</summary>
    internal static string PartitionKeyOf(string spaceId)
    {
        var key = new StringBuilder(spaceId.Length);
        foreach (var c in spaceId)
        {
            if (c is '/' or '\\' or '#' or '?' or '%' || char.IsControl(c))
            {
                key.Append('%').Append(((int)c).ToString("X4"));
            }
            else
            {
                key.Append(c);
            }
        }

        return key.ToString();
    }

    private static string RowKeyOf(long sequence) => sequence.ToString("D19", CultureInfo.InvariantCulture);

    private static TableEntity ToEntity(string partition, string writer, LedgerPageRow page) => new(partition, $"{RowKeyOf(page.LastSequence)}-{writer}")
    {
        ["FirstSequence"] = page.FirstSequence,
        ["Count"] = page.Count,
        ["EarliestAt"] = page.EarliestAt,
        ["LatestAt"] = page.LatestAt,
        ["Entries"] = page.Json,
        ["Writer"] = writer,
    };

    private static TableEntity ToEntity(string partition, LedgerBatch batch) => new(partition, BatchPrefix + RowKeyOf(batch.LastSequence))
    {
        ["Writer"] = batch.Writer,
        ["FirstSequence"] = batch.FirstSequence,
        ["LastSequence"] = batch.LastSequence,
    };

    /// <summary>Whether a row is a page (or an entry written before pages), not a batch that a snapshot named.</summary>
    public static bool IsPage(TableEntity row) => !row.RowKey.StartsWith(BatchPrefix, StringComparison.Ordinal);

    /// <summary>A page's entries; a row written before pages (one entry, its fields as properties) reads as itself.</summary>
    public static IReadOnlyList<LedgerEntry> EntriesOf(TableEntity row) => row.GetBinary("Entries") is { } json
        ? LedgerPages.Decode(json)
        : [FromEntryRow(row)];

    private static LedgerEntry FromEntryRow(TableEntity t) => new(
        long.Parse(t.RowKey),
        t.GetDateTimeOffset("At") ?? default,
        t.GetString("Kind") ?? "",
        t.GetInt64("Credits") ?? 0,
        t.GetString("OperationId"),
        t.GetString("UserId"),
        t.GetString("HoldId"),
        t.GetInt32("Items") ?? 0,
        t.GetString("Detail"));

    /// <summary>The batches recorded as named, read in sequence order from the first page that needs one, on the
    /// reader's pace (usually one request: a query reads a few pages).</summary>
    private sealed class RecordedBatches(TableClient table, string partition, CancellationToken cancellationToken) : IAsyncDisposable
    {
        private IAsyncEnumerator<TableEntity>? _rows;
        private LedgerBatch? _current;
        private bool _ended;

        /// <summary>The first recorded batch that ends at or after <paramref name="last"/> (asked in increasing order).</summary>
        public async ValueTask<LedgerBatch?> FirstEndingAsync(long last)
        {
            _rows ??= table.QueryAsync<TableEntity>(
                TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {BatchPrefix + RowKeyOf(last)}"),
                maxPerPage: 100,
                cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (!_ended && (_current is null || _current.LastSequence < last))
            {
                if (await _rows.MoveNextAsync())
                {
                    var row = _rows.Current;
                    _current = new LedgerBatch(row.GetString("Writer") ?? "", row.GetInt64("FirstSequence") ?? 0, row.GetInt64("LastSequence") ?? 0);
                }
                else
                {
                    (_current, _ended) = (null, true);
                }
            }

            return _current;
        }

        public ValueTask DisposeAsync() => _rows?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
