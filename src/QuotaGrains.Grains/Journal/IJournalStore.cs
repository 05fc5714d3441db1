namespace QuotaGrains.Grains.Journal;

/// <summary>
/// Append-only segments (Azure append blobs, or memory). An append names the offset it expects to land at, so a
/// retried or reordered append can neither duplicate nor reorder records.
/// </summary>
/// <remarks>A segment can be sealed (<see cref="SealSegmentAsync"/>): every later append to it fails with
/// <see cref="JournalFencedException"/>. A survivor seals a dead silo's stream before it reads it (<see cref="JournalFence"/>).</remarks>
internal interface IJournalStore
{
    /// <summary>Creates the segment, or leaves it as it is if it exists (a retried create whose first try landed). Throws
    /// <see cref="JournalFencedException"/> if it exists sealed or as a fence: the stream was fenced.</summary>
    Task CreateSegmentAsync(string segment, CancellationToken cancellationToken);

    /// <summary>Appends <paramref name="block"/> at <paramref name="expectedOffset"/>, or throws
    /// (<see cref="JournalFencedException"/> if the segment is sealed).</summary>
    Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxBytes"/> of the segment's bytes from <paramref name="offset"/> (one ranged read):
    /// fewer only at the segment's end, empty past it or if the segment does not exist.</summary>
    Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken);

    /// <summary>Segment names under <paramref name="prefix"/>, in name order.</summary>
    Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken);

    Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken);

    /// <summary>Seals the segment: no append lands in it afterwards (sealing adds no bytes). Idempotent; a segment that
    /// does not exist stays so.</summary>
    Task SealSegmentAsync(string segment, CancellationToken cancellationToken);

    /// <summary>Creates the segment sealed and marked as a fence, only if no segment of that name exists: false if one
    /// does. (On Azure the create and the seal are two requests; a create that finds the mark treats it as sealed.)</summary>
    Task<bool> CreateFenceSegmentAsync(string segment, CancellationToken cancellationToken);

    /// <summary>Whether the segment was created by <see cref="CreateFenceSegmentAsync"/>.</summary>
    Task<bool> IsFenceSegmentAsync(string segment, CancellationToken cancellationToken);
}

/// <summary>The store refused a write because the segment is sealed (or is a fence): another silo fenced this stream
/// because the cluster declared its silo dead. Nothing was written.</summary>
internal sealed class JournalFencedException(string message) : Exception(message);

/// <summary>The store refused an append because the segment is not at the expected offset.</summary>
internal sealed class JournalAppendConflictException(string message) : Exception(message);

/// <summary>The store refused an append because the segment is still short of the expected offset: a block sent
/// before it (appends in flight are not necessarily processed in the order they were sent) has not landed yet.
/// Nothing was written; the same append may be sent again once the earlier block is answered.</summary>
internal sealed class JournalAppendTooEarlyException(string message) : Exception(message);
