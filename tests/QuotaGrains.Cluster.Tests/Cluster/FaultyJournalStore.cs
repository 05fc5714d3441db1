using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Tests.Cluster;

/// <summary>A journal store whose appends and reads a test can make fail, and which counts the reads (listings
/// included) that reach it. The test clusters register it over the embedded store, in place of the engine's own.</summary>
internal sealed class FaultyJournalStore(IJournalStore inner) : DelegatingJournalStore(inner)
{
    private int _reads;

    /// <summary>When set, an append first asks it (segment, expected offset); an exception it returns fails the append.</summary>
    public Func<string, long, Exception?>? AppendFault { get; set; }

    /// <summary>When set, a read first asks it (segment, offset); an exception it returns fails the read.</summary>
    public Func<string, long, Exception?>? ReadFault { get; set; }

    /// <summary>How many times segments were listed or read (recovery and retention read; the hot path never does).</summary>
    public int Reads => Volatile.Read(ref _reads);

    public override Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken) =>
        AppendFault?.Invoke(segment, expectedOffset) is { } fault ? Task.FromException(fault) : base.AppendAsync(segment, expectedOffset, block, cancellationToken);

    public override Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return ReadFault?.Invoke(segment, offset) is { } fault ? Task.FromException<byte[]>(fault) : base.ReadAsync(segment, offset, maxBytes, cancellationToken);
    }

    public override Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return base.ListSegmentsAsync(prefix, cancellationToken);
    }
}
