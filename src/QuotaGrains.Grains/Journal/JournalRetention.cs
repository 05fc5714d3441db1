using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Journal;

/// <summary>What one retention sweep did.</summary>
internal readonly record struct RetentionSweep(int SegmentsDeleted, int SpacesSnapshotted, int OrphanStreams);

/// <summary>
/// Deletes journal segments once every Space with records in them has a snapshot past them. Segments of this silo
/// whose Spaces linger are released by asking those Spaces to snapshot; streams left by silos that are no longer
/// active (stopped, killed) are fenced, read once, their Spaces activated and snapshotted here, and then deleted but
/// for the segments a stale writer that resumes could open: the fence, and an empty last segment (a create whose answer
/// the writer lost, which it would retry). Deleted, either could be created afresh behind the fence.
/// </summary>
internal sealed partial class JournalRetention(
    SiloJournalWriter journal,
    JournalReader reader,
    IStreamFencing fencing,
    IGrainFactory grains,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> cluster,
    IOptions<JournalOptions> options,
    ILogger<JournalRetention> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private const int Parallelism = 32;
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(
        nameof(JournalRetention),
        ServiceLifecycleStage.Active,
        _ =>
        {
            _loop = Task.Run(() => RunAsync(_stopping.Token));
            return Task.CompletedTask;
        },
        async _ =>
        {
            _stopping.Cancel();
            await _loop.ContinueWith(static _ => { }, TaskScheduler.Default);
        });

    public async Task<RetentionSweep> SweepAsync(CancellationToken cancellationToken)
    {
        var deleted = 0;
        var snapshotted = 0;

        // This silo's closed segments: Spaces still holding one back are asked to snapshot past it (which releases
        // them from every older segment too, so the set is read afresh for each segment).
        foreach (var segment in journal.ClosedSegments().Select(s => s.Segment).ToList())
        {
            var holding = journal.ClosedSegments().FirstOrDefault(s => s.Segment == segment).Spaces ?? [];
            snapshotted += await SnapshotAllAsync(holding, cancellationToken);
            if (journal.ClosedSegments().FirstOrDefault(s => s.Segment == segment).Spaces is not { Count: > 0 })
            {
                await journal.Store.DeleteSegmentAsync(JournalPosition.SegmentNameOf(journal.Stream, segment), cancellationToken);
                journal.ForgetSegment(segment);
                deleted++;
            }
        }

        // Streams of silos that are gone: nobody will release them but us.
        var orphans = await DepartedStreamsAsync(journal, membership, cluster.Value.ServiceId, cancellationToken);
        var released = 0;
        foreach (var stream in orphans)
        {
            var kept = await KeptAsync(journal.Store, stream.ToList(), cancellationToken);
            if (kept.Count == stream.Count())
            {
                // Only what stays for good: nothing left to release.
                continue;
            }

            // Its silo may have joined after the view above: only a stream fenced as dead is released.
            if (!await fencing.FenceIfDeadAsync(stream.Key, cancellationToken))
            {
                continue;
            }

            // Read once through the reader, which keeps the records for the recoveries that follow.
            var spaces = await reader.SpacesInAsync(stream.Key, cancellationToken);

            // Each Space recovers from its snapshot and this stream, hands its notifications to its outbox (the stream
            // holds the events they were born from), then snapshots into the living journal.
            snapshotted += await SnapshotAllAsync(spaces, cancellationToken);
            foreach (var segment in stream.Where(s => !kept.Contains(s)))
            {
                await journal.Store.DeleteSegmentAsync(segment, cancellationToken);
                deleted++;
            }

            reader.Forget(stream.Key);
            released++;
            LogOrphanReleased(stream.Key, spaces.Count);
        }

        return new RetentionSweep(deleted, snapshotted, released);
    }

    /// <summary>The streams of silos that are not active (stopped, killed, or not yet declared dead: the caller fences
    /// before it trusts that), each with its segments; never this silo's own.</summary>
    public static async Task<List<IGrouping<string, string>>> DepartedStreamsAsync(
        SiloJournalWriter journal, IClusterMembershipService membership, string serviceId, CancellationToken cancellationToken)
    {
        var live = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status is not SiloStatus.Dead)
            .Select(m => JournalLifecycle.StreamName(serviceId, m.SiloAddress))
            .ToHashSet(StringComparer.Ordinal);
        var segments = await journal.Store.ListSegmentsAsync(JournalLifecycle.ServicePrefix(serviceId), cancellationToken);
        return segments
            .GroupBy(s => s[..s.LastIndexOf('/')], StringComparer.Ordinal)
            .Where(g => g.Key != journal.Stream && !live.Contains(g.Key))
            .ToList();
    }

    /// <summary>The segments of a dead silo's stream that stay: its fence, and its last other segment if that is empty.
    /// A stale writer opens only the segment after its newest one; that is the fence, or (if its create of its newest
    /// one timed out) that empty segment, which is sealed.</summary>
    public static async Task<HashSet<string>> KeptAsync(IJournalStore store, List<string> segments, CancellationToken cancellationToken)
    {
        var kept = new HashSet<string>(StringComparer.Ordinal);
        var ordered = segments.OrderBy(JournalPosition.SegmentNumberOf).ToList();
        if (await store.IsFenceSegmentAsync(ordered[^1], cancellationToken))
        {
            kept.Add(ordered[^1]);
            ordered.RemoveAt(ordered.Count - 1);
        }

        if (ordered.Count > 0 && (await store.ReadAsync(ordered[^1], 0, 1, cancellationToken)).Length == 0)
        {
            kept.Add(ordered[^1]);
        }

        return kept;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.RetentionSweepInterval, cancellationToken);
                var sweep = await SweepAsync(cancellationToken);
                if (sweep.SegmentsDeleted > 0)
                {
                    LogSwept(sweep.SegmentsDeleted, sweep.SpacesSnapshotted, sweep.OrphanStreams);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Storage may be down: retention waits for the next sweep; nothing is deleted on doubt.
                LogSweepFailed(e);
            }
        }
    }

    private async Task<int> SnapshotAllAsync(IReadOnlyList<string> spaces, CancellationToken cancellationToken)
    {
        await Parallel.ForEachAsync(
            spaces,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (spaceId, _) => await grains.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(spaceId).SnapshotAsync());
        return spaces.Count;
    }

    [LoggerMessage(301, LogLevel.Information, "Journal retention: {Segments} segment(s) deleted, {Spaces} Space(s) snapshotted, {Orphans} orphan stream(s) released.")]
    private partial void LogSwept(int segments, int spaces, int orphans);

    [LoggerMessage(302, LogLevel.Information, "Journal retention: stream {Stream} of a departed silo released after {Spaces} Space(s) snapshotted.")]
    private partial void LogOrphanReleased(string stream, int spaces);

    [LoggerMessage(303, LogLevel.Warning, "Journal retention sweep failed; retrying at the next interval.")]
    private partial void LogSweepFailed(Exception exception);
}
