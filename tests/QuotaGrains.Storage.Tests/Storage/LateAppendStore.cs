using QuotaGrains.Grains.Journal;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>A journal store whose next append, with <see cref="HoldNext"/>, reaches the storage but is not carried out
/// before the writer gives up on it (it waits for the writer's timeout); <see cref="LandHeldAsync"/> carries it out
/// afterwards, as the storage may (it fails if the segment no longer takes it).</summary>
internal sealed class LateAppendStore(IJournalStore inner) : DelegatingJournalStore(inner)
{
    private (string Segment, long Offset, byte[] Data)? _held;

    public bool HoldNext { get; set; }

    public override async Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        if (!HoldNext)
        {
            await base.AppendAsync(segment, expectedOffset, block, cancellationToken);
            return;
        }

        HoldNext = false;
        _held = (segment, expectedOffset, block.ToArray());
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }

    public Task LandHeldAsync() => Inner.AppendAsync(_held!.Value.Segment, _held.Value.Offset, _held.Value.Data, CancellationToken.None);
}
