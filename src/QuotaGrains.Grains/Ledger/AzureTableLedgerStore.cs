using System.Text;
using Azure.Data.Tables;

namespace QuotaGrains.Grains.Ledger;

/// <summary>The ledger in Azure Table: partition per Space, row key = zero-padded sequence number, written in
/// batch transactions of up to 100 upserts (a replay rewrites the same rows).</summary>
public sealed class AzureTableLedgerStore(TableClient table) : ILedgerStore
{
    private const int MaxBatch = 100;
    private int _tableReady;

    public async Task WriteAsync(string spaceId, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var partition = PartitionKeyOf(spaceId);
        foreach (var chunk in entries.Chunk(MaxBatch))
        {
            var actions = chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, e)));
            await table.SubmitTransactionAsync(actions, cancellationToken);
        }
    }

    public async Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var filter = new StringBuilder(TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKeyOf(spaceId)} and RowKey gt {RowKeyOf(query.AfterSequence)}"));
        if (query.From is { } from)
        {
            filter.Append(" and ").Append(TableClient.CreateQueryFilter($"At ge {from}"));
        }

        if (query.To is { } to)
        {
            filter.Append(" and ").Append(TableClient.CreateQueryFilter($"At lt {to}"));
        }

        var entries = new List<LedgerEntry>(query.PageSize);
        await foreach (var entity in table.QueryAsync<TableEntity>(filter.ToString(), maxPerPage: query.PageSize, cancellationToken: cancellationToken))
        {
            entries.Add(FromEntity(entity));
            if (entries.Count == query.PageSize)
            {
                break;
            }
        }

        return entries;
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _tableReady) == 0)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            Volatile.Write(ref _tableReady, 1);
        }
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

    private static string RowKeyOf(long sequence) => sequence.ToString("D19");

    private static TableEntity ToEntity(string partition, LedgerEntry e) => new(partition, RowKeyOf(e.Sequence))
    {
        ["At"] = e.At,
        ["Kind"] = e.Kind,
        ["Credits"] = e.Credits,
        ["OperationId"] = e.OperationId,
        ["UserId"] = e.UserId,
        ["HoldId"] = e.HoldId,
        ["Items"] = e.Items,
        ["Detail"] = e.Detail,
    };

    private static LedgerEntry FromEntity(TableEntity t) => new(
        long.Parse(t.RowKey),
        t.GetDateTimeOffset("At") ?? default,
        t.GetString("Kind") ?? "",
        t.GetInt64("Credits") ?? 0,
        t.GetString("OperationId"),
        t.GetString("UserId"),
        t.GetString("HoldId"),
        t.GetInt32("Items") ?? 0,
        t.GetString("Detail"));
}
