using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Notifications;

/// <summary>What one notification recovery sweep did.</summary>
internal readonly record struct NotificationSweep(int Streams, int Records, int Spaces);

/// <summary>
/// Delivers, after a crash, the notifications whose hand-over to the outbox the crash interrupted, without waiting for
/// anyone to call their Spaces (a quiet Space may next activate at its renewal, days later). A Space hands a
/// notification over once its event is durable and its snapshot records how far it got, so a crash in between leaves
/// the event in the dead silo's journal stream. At start (a restarted silo: the previous incarnation's stream) and
/// <see cref="WebhookOptions.DeadSiloSweepDelay"/> after the membership declares a silo dead (its Spaces recover
/// first: the sweep decodes every record of the stream), this silo reads each departed silo's stream through the
/// <see cref="JournalReader"/> (one read, cached for the Spaces that recover from it), and calls exactly the Spaces
/// whose records there carry a notification-bearing event: each recovers and answers once its outbox holds every
/// notification of its durable events (the outbox skips those it has). Nothing of this is on the debit path.
/// </summary>
/// <remarks>Durable without a record of its own: retention deletes a departed stream only after each of its Spaces has
/// handed its notifications over (<see cref="ISpaceMaintenanceGrain.SnapshotAsync"/> waits for it), and until then
/// every silo that starts, or sees a silo die, sweeps it again (a sweeper that dies is such a death); a sweep that
/// fails is tried again with backoff. Every survivor sweeps: each reads the dead stream for its own recoveries anyway
/// (the sweep's read is served from that cache, or fills it), and a call to a Space that another survivor woke already
/// is a cheap call to an active grain; no coordination, so no moment in which nobody sweeps.</remarks>
internal sealed partial class NotificationRecovery(
    SiloJournalWriter journal,
    JournalReader reader,
    IStreamFencing fencing,
    SpaceRecordCodec codec,
    IGrainFactory grains,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> cluster,
    IOptions<WebhookOptions> webhooks,
    ILogger<NotificationRecovery> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private const int Parallelism = 32;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0);

    // Streams swept here, or found holding only what retention keeps for good: fenced, so nothing is added to them.
    private readonly ConcurrentDictionary<string, bool> _done = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;
    private Task _watch = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(
        nameof(NotificationRecovery),
        ServiceLifecycleStage.Active,
        _ =>
        {
            _watch = Task.Run(() => WatchAsync(_stopping.Token));
            _loop = Task.Run(() => RunAsync(_stopping.Token));
            return Task.CompletedTask;
        },
        async _ =>
        {
            _stopping.Cancel();
            await Task.WhenAll(_loop, _watch).ContinueWith(static _ => { }, TaskScheduler.Default);
        });

    /// <summary>Sweeps every departed silo's stream not swept here yet. Throws if any failed (the others are done).</summary>
    public async Task<NotificationSweep> SweepAsync(CancellationToken cancellationToken)
    {
        var sweep = new NotificationSweep();
        List<Exception> failures = [];
        foreach (var stream in await JournalRetention.DepartedStreamsAsync(journal, membership, cluster.Value.ServiceId, cancellationToken))
        {
            if (_done.ContainsKey(stream.Key))
            {
                continue;
            }

            try
            {
                var (records, spaces) = await SweepStreamAsync(stream.Key, stream.ToList(), cancellationToken);
                sweep = new NotificationSweep(sweep.Streams + 1, sweep.Records + records, sweep.Spaces + spaces);
            }
            catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
            {
                LogStreamFailed(exception, stream.Key);
                failures.Add(exception);
            }
        }

        return failures.Count == 0 ? sweep : throw new AggregateException(failures);
    }

    private async Task<(int Records, int Spaces)> SweepStreamAsync(string stream, List<string> segments, CancellationToken cancellationToken)
    {
        // A stream released before holds only its fence (and maybe a sealed empty segment): nothing to read there.
        if ((await JournalRetention.KeptAsync(journal.Store, segments, cancellationToken)).Count == segments.Count)
        {
            _done[stream] = true;
            return (0, 0);
        }

        // Its silo may have joined after the view above (or not be declared dead yet): a later death wakes us for it.
        if (!await fencing.FenceIfDeadAsync(stream, cancellationToken))
        {
            return (0, 0);
        }

        var started = Stopwatch.GetTimestamp();
        var records = await reader.RecordsInAsync(stream, cancellationToken);
        var spaces = NotifyingSpaces(records);
        await Parallel.ForEachAsync(
            spaces,
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (spaceId, _) => await grains.GetGrain<ISpaceMaintenanceGrain>(spaceId).HandOverNotificationsAsync());
        _done[stream] = true;
        LogStreamSwept(stream, records.Count, spaces.Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return (records.Count, spaces.Count);
    }

    /// <summary>The Spaces with a record carrying a notification-bearing event (one such record is enough). A record
    /// that does not decode counts: the Space's own recovery decides what it holds.</summary>
    private List<string> NotifyingSpaces(IReadOnlyList<JournalRecord> records)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (found.Contains(record.SpaceId))
            {
                continue;
            }

            bool notifying;
            try
            {
                notifying = codec.Decode(record).Any(SpacePool.GivesNotification);
            }
            catch (Exception)
            {
                notifying = true;
            }

            if (notifying)
            {
                found.Add(record.SpaceId);
            }
        }

        return found.Order(StringComparer.Ordinal).ToList();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var retry = FirstRetryDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            var failed = false;
            try
            {
                await SweepAsync(cancellationToken);
                retry = FirstRetryDelay;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                // Storage down, a Space unreachable: nothing is lost (the streams stay until their Spaces handed over).
                LogSweepFailed(exception, retry);
                failed = true;
            }

            try
            {
                // A death first lets its Spaces come back on the survivors; a failed sweep's retry does not wait for it.
                if (await _wake.WaitAsync(failed ? retry : Timeout.InfiniteTimeSpan, cancellationToken) && webhooks.Value.DeadSiloSweepDelay > TimeSpan.Zero)
                {
                    LogSweepDeferred(webhooks.Value.DeadSiloSweepDelay);
                    await Task.Delay(webhooks.Value.DeadSiloSweepDelay, cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            // Deaths seen meanwhile are all covered by the next sweep.
            while (_wake.Wait(0))
            {
            }

            if (failed)
            {
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>Wakes the sweep whenever a silo is newly declared dead.</summary>
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        var dead = DeadSilos(membership.CurrentSnapshot);
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
            {
                var now = DeadSilos(snapshot);
                if (!now.IsSubsetOf(dead))
                {
                    _wake.Release();
                }

                dead = now;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static HashSet<SiloAddress> DeadSilos(ClusterMembershipSnapshot snapshot) =>
        snapshot.Members.Values.Where(m => m.Status is SiloStatus.Dead).Select(m => m.SiloAddress).ToHashSet();

    [LoggerMessage(601, LogLevel.Information, "Notification recovery: stream {Stream} of a departed silo swept: {Records} record(s), {Spaces} Space(s) with notification-bearing events woken and handed over, {Milliseconds} ms.")]
    private partial void LogStreamSwept(string stream, int records, int spaces, long milliseconds);

    [LoggerMessage(602, LogLevel.Warning, "Notification recovery: sweeping stream {Stream} failed; it is swept again.")]
    private partial void LogStreamFailed(Exception exception, string stream);

    [LoggerMessage(604, LogLevel.Information, "Notification recovery: a silo was declared dead; its stream is swept in {Delay}, once its Spaces had their turn to recover.")]
    private partial void LogSweepDeferred(TimeSpan delay);

    [LoggerMessage(603, LogLevel.Warning, "Notification recovery sweep failed; retrying in {Delay}, or at the next silo death.")]
    private partial void LogSweepFailed(Exception exception, TimeSpan delay);
}
