using Microsoft.Extensions.Logging;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Grains.Boundary;

/// <summary>The engine's ledger store (Azure Table or memory) with its failures typed: a write or query that fails
/// throws <see cref="QuotaUnavailableException"/> naming the cause (logged here in full). A ledger read
/// (<see cref="ISpaceGrain.GetLedgerAsync"/>) is a Table query; its exception would otherwise reach the caller.</summary>
internal sealed class FailClosedLedgerStore(ILedgerStore inner, ILogger<FailClosedLedgerStore> logger) : ILedgerStore
{
    public Task WriteAsync(string spaceId, LedgerBatch batch, IReadOnlyList<LedgerPageRow> pages, LedgerBatch? named, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.WriteAsync(spaceId, batch, pages, named, cancellationToken), cancellationToken, e => Unavailable(e, "written", spaceId));

    public Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, LedgerBatch? named, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.QueryAsync(spaceId, query, named, cancellationToken), cancellationToken, e => Unavailable(e, "read", spaceId));

    private QuotaUnavailableException Unavailable(Exception exception, string done, string spaceId)
    {
        QuotaLog.LedgerFailed(logger, exception, spaceId, done);
        return new QuotaUnavailableException($"The ledger of Space '{spaceId}' could not be {done}; the outcome is unknown.", exception);
    }
}
