using Microsoft.Extensions.Logging;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Grains.Boundary;

/// <summary>The journal's store as the Spaces see it: reads and listings that fail throw
/// <see cref="QuotaUnavailableException"/> naming the cause (logged here in full). A Space replays the journal while it
/// activates, where Orleans hands the activation's exception to every caller waiting for it. Appends, creations and
/// deletions pass as they are: the journal writer acts on their exceptions, and a Space types a failed append.</summary>
internal sealed class FailClosedJournalStore(IJournalStore inner, ILogger<FailClosedJournalStore> logger) : IJournalStore
{
    public Task CreateSegmentAsync(string segment, CancellationToken cancellationToken) => inner.CreateSegmentAsync(segment, cancellationToken);

    public Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken) =>
        inner.AppendAsync(segment, expectedOffset, block, cancellationToken);

    public Task<byte[]> ReadAsync(string segment, long offset, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.ReadAsync(segment, offset, cancellationToken), cancellationToken, e => Unavailable(e, "reading", segment));

    public Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.ListSegmentsAsync(prefix, cancellationToken), cancellationToken, e => Unavailable(e, "listing", prefix));

    public Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken) => inner.DeleteSegmentAsync(segment, cancellationToken);

    private QuotaUnavailableException Unavailable(Exception exception, string operation, string segment)
    {
        QuotaLog.JournalReadFailed(logger, exception, operation, segment);
        return new QuotaUnavailableException($"The journal could not be read ({operation} '{segment}'); the outcome is unknown.", exception);
    }
}
