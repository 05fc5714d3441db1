namespace QuotaGrains.Grains.Journal;

/// <summary>
/// Append-only segments (Azure append blobs, or memory). An append names the offset it expects to land at, so a
/// retried or reordered append can neither duplicate nor reorder records.
/// </summary>
internal interface IJournalStore
{
    Task CreateSegmentAsync(string segment, CancellationToken cancellationToken);

    /// <summary>Appends <paramref name="block"/> at <paramref name="expectedOffset"/>, or throws.</summary>
    Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxBytes"/> of the segment's bytes from <paramref name="offset"/> (one ranged read):
    /// fewer only at the segment's end, empty past it or if the segment does not exist.</summary>
    Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken);

    /// <summary>Segment names under <paramref name="prefix"/>, in name order.</summary>
    Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken);

    Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken);
}

/// <summary>The store refused an append because the segment is not at the expected offset.</summary>
internal sealed class JournalAppendConflictException(string message) : Exception(message);

/// <summary>The store refused an append because the segment is still short of the expected offset: a block sent
/// before it (appends in flight are not necessarily processed in the order they were sent) has not landed yet.
/// Nothing was written; the same append may be sent again once the earlier block is answered.</summary>
internal sealed class JournalAppendTooEarlyException(string message) : Exception(message);
