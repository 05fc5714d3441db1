namespace QuotaGrains.Grains.Journal;

/// <summary>The embedded journal store: the same append-at-offset contract, in the silo's memory.</summary>
public sealed class MemoryJournalStore : IJournalStore
{
    private readonly Dictionary<string, MemoryStream> _segments = new(StringComparer.Ordinal);

    private int _reads;

    /// <summary>How many times segments were listed or read (recovery and retention read; the hot path never does).</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Test hook: when set, an append first asks it; an exception it returns fails the append.</summary>
    public Func<string, long, Exception?>? AppendFault { get; set; }

    public Task CreateSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        lock (_segments)
        {
            _segments.TryAdd(segment, new MemoryStream());
        }

        return Task.CompletedTask;
    }

    public Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        if (AppendFault?.Invoke(segment, expectedOffset) is { } fault)
        {
            return Task.FromException(fault);
        }

        lock (_segments)
        {
            if (!_segments.TryGetValue(segment, out var stream))
            {
                throw new InvalidOperationException($"Journal segment '{segment}' does not exist.");
            }

            if (stream.Length != expectedOffset)
            {
                throw new JournalAppendConflictException($"Segment '{segment}' is at {stream.Length}, not {expectedOffset}.");
            }

            stream.Seek(0, SeekOrigin.End);
            stream.Write(block.Span);
        }

        return Task.CompletedTask;
    }

    public Task<byte[]> ReadAsync(string segment, long offset, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        lock (_segments)
        {
            if (!_segments.TryGetValue(segment, out var stream) || offset >= stream.Length)
            {
                return Task.FromResult(Array.Empty<byte>());
            }

            return Task.FromResult(stream.GetBuffer().AsSpan((int)offset, (int)(stream.Length - offset)).ToArray());
        }
    }

    public Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
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
}
