namespace QuotaGrains.Grains.Journal;

/// <summary>
/// Fences a stream whose silo the cluster declared dead, so that a stale writer (a paused process that resumes) can
/// never acknowledge a record that the survivors' reads miss: the stream's segments are sealed, and the segment after
/// the last is created as a sealed fence, exclusively. A writer appends only to its newest segment and opens the next one
/// only with a create that refuses a sealed or fence segment, so afterwards it can append nowhere; every block it was
/// ever acknowledged landed before the seal, and a read that starts after <see cref="FenceAsync"/> returns sees it.
/// Sealing the older segments too keeps a block the writer gave up on (a timeout) from landing in one of them later:
/// every read after the fence finds the same stream, so two activations recovering from the same snapshot cannot
/// replay different records.
/// </summary>
internal static class JournalFence
{
    /// <summary>Fences <paramref name="stream"/>. Idempotent: a stream whose last segment is a fence is only sealed again
    /// (a fencer may have died between the create and the seal), so two survivors fencing it is harmless.</summary>
    public static async Task FenceAsync(IJournalStore store, string stream, CancellationToken cancellationToken)
    {
        while (true)
        {
            var segments = (await store.ListSegmentsAsync(stream + "/", cancellationToken))
                .Select(JournalPosition.SegmentNumberOf)
                .Where(n => n >= 0)
                .OrderDescending()
                .ToList();
            var last = segments.Count > 0 ? segments[0] : -1;
            if (last >= 0 && await store.IsFenceSegmentAsync(JournalPosition.SegmentNameOf(stream, last), cancellationToken))
            {
                // Fenced before: every segment was sealed before the fence was created; the fence itself may not be yet.
                await store.SealSegmentAsync(JournalPosition.SegmentNameOf(stream, last), cancellationToken);
                return;
            }

            // The newest first: it is the one the writer appends to.
            foreach (var segment in segments)
            {
                await store.SealSegmentAsync(JournalPosition.SegmentNameOf(stream, segment), cancellationToken);
            }

            // The writer may have just rolled there: then seal that one and try the next.
            if (await store.CreateFenceSegmentAsync(JournalPosition.SegmentNameOf(stream, last + 1), cancellationToken))
            {
                return;
            }
        }
    }
}

/// <summary>Decides whether a journal stream's writer is gone for good and, if so, fences the stream
/// (<see cref="JournalFence"/>) before the <see cref="JournalReader"/> reads it for recovery.</summary>
internal interface IStreamFencing
{
    /// <summary>True once <paramref name="stream"/> is fenced (its silo is dead); false if its silo is alive (or it is
    /// this silo's own stream): then it is not fenced, and a later call decides again.</summary>
    Task<bool> FenceIfDeadAsync(string stream, CancellationToken cancellationToken);
}

/// <summary>Fencing by a predicate (the simulation, tests): a stream it calls dead is fenced, once per stream.</summary>
internal sealed class DelegateStreamFencing(IJournalStore store, Func<string, bool> isDead) : IStreamFencing
{
    private readonly HashSet<string> _fenced = new(StringComparer.Ordinal);

    /// <summary>How many times a stream was fenced through this instance.</summary>
    public int Fences { get; private set; }

    public async Task<bool> FenceIfDeadAsync(string stream, CancellationToken cancellationToken)
    {
        lock (_fenced)
        {
            if (_fenced.Contains(stream))
            {
                return true;
            }
        }

        if (!isDead(stream))
        {
            return false;
        }

        await JournalFence.FenceAsync(store, stream, cancellationToken);
        lock (_fenced)
        {
            if (_fenced.Add(stream))
            {
                Fences++;
            }
        }

        return true;
    }
}
