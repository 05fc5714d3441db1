using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Tests.Cluster;

/// <summary>A journal store that passes everything to <see cref="Inner"/>: tests override what they count, hold or fail.</summary>
internal abstract class DelegatingJournalStore(IJournalStore inner) : IJournalStore
{
    public IJournalStore Inner { get; } = inner;

    public virtual Task CreateSegmentAsync(string segment, CancellationToken cancellationToken) => Inner.CreateSegmentAsync(segment, cancellationToken);

    public virtual Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken) =>
        Inner.AppendAsync(segment, expectedOffset, block, cancellationToken);

    public virtual Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken) =>
        Inner.ReadAsync(segment, offset, maxBytes, cancellationToken);

    public virtual Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken) =>
        Inner.ListSegmentsAsync(prefix, cancellationToken);

    public virtual Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken) => Inner.DeleteSegmentAsync(segment, cancellationToken);

    public virtual Task SealSegmentAsync(string segment, CancellationToken cancellationToken) => Inner.SealSegmentAsync(segment, cancellationToken);

    public virtual Task<bool> CreateFenceSegmentAsync(string segment, CancellationToken cancellationToken) => Inner.CreateFenceSegmentAsync(segment, cancellationToken);

    public virtual Task<bool> IsFenceSegmentAsync(string segment, CancellationToken cancellationToken) => Inner.IsFenceSegmentAsync(segment, cancellationToken);
}
