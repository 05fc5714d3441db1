namespace QuotaGrains.Grains.Journal;

/// <summary>The embedded journal store: the same append-at-offset contract, in the silo's memory.</summary>
/// <remarks>A segment is a list of fixed-size chunks filled in turn: one growing buffer would be copied whole, under the
/// lock, each time it doubles (hundreds of MiB in a busy silo), and an array per block would be one more small object
/// for every collection to copy until it reaches the oldest generation.</remarks>
internal sealed class MemoryJournalStore : IJournalStore
{
    private readonly Dictionary<string, Segment> _segments = new(StringComparer.Ordinal);

    public Task CreateSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            if (!_segments.TryAdd(segment, new Segment()) && _segments[segment] is { Sealed: true })
            {
                throw new JournalFencedException($"Journal segment '{segment}' exists sealed: the stream is fenced.");
            }
        }

        return Task.CompletedTask;
    }

    public Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            if (!_segments.TryGetValue(segment, out var segmentData))
            {
                throw new InvalidOperationException($"Journal segment '{segment}' does not exist.");
            }

            if (segmentData.Sealed)
            {
                throw new JournalFencedException($"Journal segment '{segment}' is sealed: the stream is fenced.");
            }

            if (segmentData.Length != expectedOffset)
            {
                throw new JournalAppendConflictException($"Segment '{segment}' is at {segmentData.Length}, not {expectedOffset}.");
            }

            segmentData.Append(block.Span);
        }

        return Task.CompletedTask;
    }

    public Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            if (!_segments.TryGetValue(segment, out var segmentData) || offset >= segmentData.Length)
            {
                return Task.FromResult(Array.Empty<byte>());
            }

            return Task.FromResult(segmentData.Read(offset, (int)Math.Min(maxBytes, segmentData.Length - offset)));
        }
    }

    public Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            IReadOnlyList<string> names = _segments.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            return Task.FromResult(names);
        }
    }

    public Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            _segments.Remove(segment);
        }

        return Task.CompletedTask;
    }

    public Task SealSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            if (_segments.TryGetValue(segment, out var segmentData))
            {
                segmentData.Sealed = true;
            }
        }

        return Task.CompletedTask;
    }

    public Task<bool> CreateFenceSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            return Task.FromResult(_segments.TryAdd(segment, new Segment { Sealed = true, Fence = true }));
        }
    }

    public Task<bool> IsFenceSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            return Task.FromResult(_segments.TryGetValue(segment, out var segmentData) && segmentData.Fence);
        }
    }

    private sealed class Segment
    {
        private const int ChunkBytes = 256 * 1024;

        private readonly List<byte[]> _chunks = [];

        public bool Sealed { get; set; }

        public bool Fence { get; init; }

        public long Length { get; private set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                var used = (int)(Length % ChunkBytes);
                if (used == 0)
                {
                    _chunks.Add(new byte[ChunkBytes]);
                }

                var count = Math.Min(data.Length, ChunkBytes - used);
                data[..count].CopyTo(_chunks[^1].AsSpan(used));
                data = data[count..];
                Length += count;
            }
        }

        public byte[] Read(long offset, int length)
        {
            var data = new byte[length];
            var end = offset + length;
            for (var at = offset; at < end;)
            {
                var chunk = _chunks[(int)(at / ChunkBytes)];
                var start = (int)(at % ChunkBytes);
                var count = (int)Math.Min(ChunkBytes - start, end - at);
                chunk.AsSpan(start, count).CopyTo(data.AsSpan((int)(at - offset)));
                at += count;
            }

            return data;
        }
    }
}
