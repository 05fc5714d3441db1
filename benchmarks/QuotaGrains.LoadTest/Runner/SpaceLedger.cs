using System.Collections.Concurrent;
using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>A flow whose outcome is unknown (a request failed with an error): the audit resolves it by sending the
/// reserve again with the same operation id and refunding whatever is still held.</summary>
public sealed record UncertainFlow(SpaceModel Space, string UserId, SpecChoice Spec, int Count, string OperationId);

/// <summary>What the harness saw acknowledged per Space, over every phase (warm-up included): the audit's
/// expected values.</summary>
public sealed class SpaceLedger(int spaces)
{
    private readonly long[] _committedCredits = new long[spaces];
    private readonly long[] _committedItems = new long[spaces];
    private readonly long[] _uncertainCredits = new long[spaces];
    private readonly long[] _uncertainItems = new long[spaces];

    public ConcurrentQueue<UncertainFlow> Uncertain { get; } = new();

    public long CommittedCredits(int space) => Volatile.Read(ref _committedCredits[space]);

    public long CommittedItems(int space) => Volatile.Read(ref _committedItems[space]);

    /// <summary>The most an uncertain flow could have charged: the audit accepts used within [acknowledged,
    /// acknowledged + this].</summary>
    public long UncertainCredits(int space) => Volatile.Read(ref _uncertainCredits[space]);

    public long UncertainItems(int space) => Volatile.Read(ref _uncertainItems[space]);

    public void Committed(int space, long credits, int items)
    {
        Interlocked.Add(ref _committedCredits[space], credits);
        Interlocked.Add(ref _committedItems[space], items);
    }

    public void MarkUncertain(UncertainFlow flow)
    {
        Interlocked.Add(ref _uncertainCredits[flow.Space.Index], flow.Spec.UnitCredits * flow.Count);
        Interlocked.Add(ref _uncertainItems[flow.Space.Index], flow.Count);
        Uncertain.Enqueue(flow);
    }
}
