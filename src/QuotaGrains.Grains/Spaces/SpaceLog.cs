using System.Diagnostics;
using Microsoft.Extensions.Logging;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Durability;
using QuotaGrains.Grains.Fleet;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Grains.Spaces;

/// <summary>
/// A Space's durable machinery, apart from its grain: the live pool requests are decided against, the durable copy that
/// receives events only once the journal acknowledged them, the append chain (one append in flight; what is decided
/// meanwhile rides in the next), snapshots and the ledger pages they write, recovery, and when the Space should wake
/// up. It depends on interfaces and plain classes (journal, snapshot and ledger stores, time), not on a grain, so a test
/// or a simulation drives it without a cluster. Like a grain, it is used from one thread at a time.
/// </summary>
internal sealed partial class SpaceLog
{
    private readonly string _spaceId;
    private readonly ISpaceSnapshots _snapshots;
    private readonly SpaceLogServices _services;
    private readonly ILogger _logger;
    private readonly Action<DateTimeOffset> _wakeAt;
    private readonly Action _failed;

    private readonly WriteCoalescer _appends;

    private SpacePool _durable = null!;
    private List<SpaceEvent> _unwritten = [];
    // The events of the append in flight, and when it started.
    private List<SpaceEvent> _appending = [];
    private long _appendStarted;
    // Durable events not yet in a snapshot, as the ledger pages the next snapshot writes.
    private readonly LedgerPageBuilder _unsnapshotted = new();
    // This activation's id on the ledger pages it writes, and the batch the last snapshot read or written names: the
    // pages readers see (LedgerBatch).
    private readonly string _ledgerWriter;
    private LedgerBatch? _ledgerNamed;
    private JournalPosition _durableFrom = null!;
    private bool _snapshotBeforeAppend = true;
    private bool _replayedJournal;
    private Task? _pinning;
    private long _dirtySinceTicks;
    private DateTimeOffset _lastSnapshotAt = DateTimeOffset.MinValue;
    private Task _writingSnapshot = Task.CompletedTask;
    private Task? _queuedSnapshot;
    private Exception? _failure;
    private DateTimeOffset? _wakeUpAt;
    // Notifications handed to the outbox through this sequence (SpaceLog.Notifications.cs).
    private long _notifiedThrough;
    private bool _handingOver;
    private Task _handOver = Task.CompletedTask;
    // A snapshot's position whose release of older segments waits for the hand-over (SpaceLog.Notifications.cs).
    private JournalPosition? _releaseHeld;
    private bool _closed;
    private readonly FleetSlot? _fleet;

    /// <param name="wakeAt">Asks the host to call <see cref="WakeUpAsync"/> at an instant (replacing an earlier ask).</param>
    /// <param name="failed">Tells the host the Space failed closed: it must be reloaded (a grain deactivates).</param>
    public SpaceLog(string spaceId, ISpaceSnapshots snapshots, SpaceLogServices services, Action<DateTimeOffset> wakeAt, Action failed)
    {
        _spaceId = spaceId;
        _snapshots = snapshots;
        _services = services;
        _logger = services.Logger;
        _wakeAt = wakeAt;
        _failed = failed;
        _appends = new WriteCoalescer(AppendUnwritten, Appended, AppendFailed);
        _fleet = services.Fleet?.NewSlot(spaceId);
        _ledgerWriter = services.NewLedgerWriter();
    }

    /// <summary>The live pool: requests are decided against it, including what is decided but not yet durable.</summary>
    public SpacePool Live { get; private set; } = null!;

    /// <summary>Completes when everything decided so far is durable (a replayed outcome waits for it).</summary>
    public Task LatestWrite => _appends.Latest;

    /// <summary>The sequence of the last event the journal acknowledged (or recovery found): what reads show.</summary>
    public long DurableSequence => _durable.State.Sequence;

    /// <summary>Durable events no snapshot holds yet (read by the gauges, from any thread).</summary>
    public int UnsnapshottedEvents => _unsnapshotted.Count;

    /// <summary>When the oldest durable event not in a snapshot became durable, in UTC ticks; 0 when none (read by the
    /// gauges, from any thread: one word).</summary>
    public long DirtySinceTicks => Volatile.Read(ref _dirtySinceTicks);

    /// <summary>Since when durable events wait for a snapshot (null: none do).</summary>
    private DateTimeOffset? DirtySince
    {
        get => _dirtySinceTicks == 0 ? null : new DateTimeOffset(_dirtySinceTicks, TimeSpan.Zero);
        set => Volatile.Write(ref _dirtySinceTicks, value?.UtcTicks ?? 0);
    }

    /// <summary>A request decided on the live pool; refused (outcome unknown) while the Space is failed.</summary>
    public Outcome<TResult> Decide<TResult>(Func<SpacePool, Outcome<TResult>> decide)
        where TResult : OperationResult
    {
        ThrowIfFailed();
        return decide(Live);
    }

    /// <summary>Completes when <paramref name="outcome"/> may be told: its events are durable. A replayed outcome is
    /// only as durable as the latest write, which carries the original or follows it. An answer that no event carries
    /// (a refusal), the first after a recovery that read the journal, waits for the snapshot that names the journal's
    /// tail: an append given up on (a timeout) may still land in the segments that recovery read, and the next
    /// recovery must not find there the outcome this answer denies (seen in the simulation, seed 211: a retried reserve
    /// refused, then its first attempt recovered).</summary>
    public Task DurableAsync<TResult>(Outcome<TResult> outcome)
        where TResult : OperationResult
    {
        if (outcome.Events.Count > 0)
        {
            return AppendAsync(outcome.Events);
        }

        if (outcome.Result.Replayed)
        {
            return _appends.Latest;
        }

        return _snapshotBeforeAppend && _replayedJournal ? _pinning ??= SnapshotInOrderAsync(urgent: true) : Task.CompletedTask;
    }

    /// <summary>Recovery: the snapshot, then this Space's journal records after it (never one twice, none after a gap),
    /// read through the silo's <see cref="JournalReader"/>, which reads a stream once for every Space recovering from it.
    /// Then the Space serves: the replayed events are durable in the journal, and the snapshot that records them is
    /// written in the background (or before the first append, whichever comes first), not on the way to serving: after
    /// a crash, thousands of Spaces recover at once, and as many Table writes would stand between each and its answer.</summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshots.Current;
        var recovered = snapshot.State is null ? new SpaceState() : _services.Copier.Copy(snapshot.State);
        _durable = new SpacePool(_spaceId, recovered, _services.Rules);
        _durableFrom = _services.Journal.DurableTail;
        _ledgerNamed = snapshot.Ledger;
        if (snapshot.JournalFrom is { } from && !snapshot.Complete)
        {
            _replayedJournal = true;
            foreach (var e in await ReplayAsync(from, cancellationToken))
            {
                _unsnapshotted.Add(LedgerEntries.From(e));
            }
        }

        // The live pool holds every operation id the durable copy would, and more: keep them once (snapshots read the
        // window from the live pool, up to the durable sequence).
        Live = _durable.HandOverOperationWindow(_services.Copier.Copy(_durable.State));
        _notifiedThrough = snapshot.NotifiedThrough;
        HandOverNotifications();
        var now = _services.Time.GetUtcNow();
        if (_unsnapshotted.Count > 0)
        {
            DirtySince = now;
        }

        var changes = Live.MigrateLegacyPools(now).Concat(Live.AdvanceTo(now)).ToList();
        if (changes.Count > 0)
        {
            await AppendAsync(changes);
        }
        else
        {
            // Nothing due yet, but open holds (and the renewal) will be: wake up for them even if nobody calls.
            ScheduleWakeUp();
        }
    }

    /// <summary>The end of an activation: a final snapshot if anything is not in one (it spares the next activation a
    /// journal scan). Not when the Space failed (memory may hold what is not durable), nor when
    /// <paramref name="nowhereToGo"/> (in-memory storage dies with the silo).</summary>
    public async Task CloseAsync(bool nowhereToGo, bool shuttingDown, CancellationToken cancellationToken)
    {
        _closed = true;
        if (nowhereToGo)
        {
            return;
        }

        try
        {
            // Also when the Space failed: an append already handed to the journal (one no request waits for, such as an
            // expiry) may still land, and the next activation must not recover before it has, or its own record of
            // that sequence would land after this one and be dropped by the next recovery (seen in the simulation,
            // seed 4235).
            await _appends.Settled.WaitAsync(cancellationToken);
            if (_failure is not null)
            {
                return;
            }

            await (_queuedSnapshot ?? Task.CompletedTask).WaitAsync(cancellationToken);
            await _writingSnapshot.WaitAsync(cancellationToken);
            if (_failure is null && (_unsnapshotted.Count > 0 || !_snapshots.Current.Complete) && (_durable.State.Created || _unsnapshotted.Count > 0))
            {
                await _services.SnapshotLimiter.RunAsync(() => WriteSnapshotAsync(final: true), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or QuotaUnavailableException || (e is ObjectDisposedException && shuttingDown))
        {
            // The journal holds everything acknowledged; the next activation replays it. A silo stopping with thousands
            // of Spaces to snapshot, one write at a time, runs out of its deadline (the token) or of its services.
        }
    }

    /// <summary>Hands events (already applied to <see cref="Live"/>) to the journal; completes once they are durable,
    /// or fails with <see cref="QuotaUnavailableException"/> (outcome unknown), after which the Space refuses
    /// everything until it is reloaded.</summary>
    public Task AppendAsync(IReadOnlyList<SpaceEvent> events)
    {
        Observe(events);
        _unwritten.AddRange(events);
        return _appends.WriteAsync();
    }

    /// <summary>Renewals and expiries due by now are applied to the live pool and journaled; a reader need not wait for
    /// them to be written (they are a function of state and time).</summary>
    public DateTimeOffset Advance()
    {
        ThrowIfFailed();
        var now = _services.Time.GetUtcNow();
        var due = Live.AdvanceTo(now);
        if (due.Count > 0)
        {
            _ = AppendAsync(due).ContinueWith(static t => _ = t.Exception, TaskScheduler.Current);
        }

        return now;
    }

    /// <summary>What a read shows: only what cannot be lost. That is the durable copy (acknowledged events only, so a
    /// caller sees its own acknowledged writes, and never a decided change whose append may still fail), advanced to now
    /// by the renewal and expiry rules, which are a function of state and time. Those due are journaled from the live
    /// pool meanwhile; until they are durable, the read advances a copy.</summary>
    public SpacePool ReadView(out DateTimeOffset now)
    {
        now = Advance();
        if (_durable.NextDueAt() is not { } due || due > now)
        {
            return _durable;
        }

        var view = new SpacePool(_spaceId, _services.Copier.Copy(_durable.State), _services.Rules);
        view.ForgetOperationWindow();
        view.AdvanceTo(now);
        return view;
    }

    /// <summary>Ledger entries already in the table, then durable ones that the next snapshot will write there.</summary>
    public async Task<LedgerPage> LedgerAsync(LedgerQuery query)
    {
        var pending = _unsnapshotted.Entries();
        var stored = await _services.Ledger.QueryAsync(_spaceId, query, _ledgerNamed, CancellationToken.None);
        var entries = stored
            .Concat(pending.Where(e => e.Sequence > query.AfterSequence && (query.From is null || e.At >= query.From) && (query.To is null || e.At < query.To)))
            .DistinctBy(e => e.Sequence)
            .OrderBy(e => e.Sequence)
            .Take(query.PageSize)
            .ToList();
        return new LedgerPage(entries, entries.Count == query.PageSize ? entries[^1].Sequence : null);
    }

    /// <summary>Writes a snapshot now if anything is not yet in one, once every durable notification is handed over (the
    /// journal's retention sweep asks before it deletes a stream, which may hold the events they were born from).</summary>
    public async Task SnapshotAsync()
    {
        ThrowIfFailed();
        await _appends.Settled;
        await HandedOverAsync();
        if (!_durable.State.Created && _unsnapshotted.Count == 0)
        {
            return;
        }

        if (_unsnapshotted.Count > 0 || _snapshotBeforeAppend)
        {
            await SnapshotInOrderAsync();
        }
    }

    /// <summary>What the host calls at the instant asked for: applies what is due, writes a snapshot that is due, and
    /// asks for the next wake-up.</summary>
    public async Task WakeUpAsync()
    {
        _wakeUpAt = null;
        if (_failure is not null)
        {
            return;
        }

        try
        {
            var now = _services.Time.GetUtcNow();
            var due = Live.AdvanceTo(now);
            if (due.Count > 0)
            {
                await AppendAsync(due);
            }

            if (DirtySince is { } dirty && now - dirty >= _services.Options.SnapshotInterval)
            {
                await SnapshotInOrderAsync();
            }

            ScheduleWakeUp();
        }
        catch (QuotaUnavailableException)
        {
            // Already failed closed and logged; the Space is reloaded.
        }
    }

    public void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw Unavailable(failure);
        }
    }

    /// <summary>One append in flight per Space (<see cref="_appends"/>); everything decided meanwhile goes in the
    /// following one. An append is only handed to the journal after the previous one is acknowledged, so a Space's
    /// records never overtake. This returns the journal's own task (no async step of its own on the debit path);
    /// <see cref="Appended"/> follows it.</summary>
    private Task AppendUnwritten()
    {
        _appending = _unwritten;
        _unwritten = [];
        ThrowIfFailed();
        _appendStarted = Stopwatch.GetTimestamp();
        return _snapshotBeforeAppend ? SnapshotThenAppendAsync(_appending) : _services.Journal.AppendAsync(_spaceId, _appending);
    }

    private async Task<JournalPosition> SnapshotThenAppendAsync(List<SpaceEvent> events)
    {
        // A crash after this activation's first append must find a snapshot that names this journal.
        // (an urgent snapshot always writes, and a written snapshot clears _snapshotBeforeAppend).
        await SnapshotInOrderAsync(urgent: true);
        return await _services.Journal.AppendAsync(_spaceId, events);
    }

    /// <summary>The journal acknowledged the append in flight: its events are durable.</summary>
    private void Appended(Task append)
    {
        var events = _appending;
        var blockStart = ((Task<JournalPosition>)append).Result;
        foreach (var e in events)
        {
            _durable.Apply(e);
            _unsnapshotted.Add(LedgerEntries.From(e));
        }

        _durableFrom = blockStart;
        _fleet?.Acknowledged(events, _durable.State);
        DirtySince ??= _services.Time.GetUtcNow();
        HandOverNotifications();
        _services.Instruments.WriteDuration.Record(Stopwatch.GetElapsedTime(_appendStarted).TotalMilliseconds);
        _services.Instruments.WriteBatch.Record(events.Count);
        if (_unsnapshotted.Count >= _services.Options.SnapshotEveryEvents
            && _services.Time.GetUtcNow() - _lastSnapshotAt >= _services.Options.MinSnapshotSpacing)
        {
            _ = SnapshotInOrderAsync().ContinueWith(static t => _ = t.Exception, TaskScheduler.Current);
        }

        ScheduleWakeUp();
    }

    /// <summary>The append failed (or what follows it in <see cref="Appended"/> threw): the Space fails closed, and
    /// the append's callers learn that the outcome is unknown.</summary>
    private Exception AppendFailed(Exception exception)
    {
        Fail(exception, _appending.Count);
        return Unavailable(exception);
    }

    /// <summary>Snapshots never overlap: each starts once the one before has finished. Background ones (all but the one
    /// a request waits for) first wait for a slot of the silo's <see cref="SnapshotWriteLimiter"/>, and while one waits,
    /// asking for another joins it: it has not started, so it will cover everything journaled until it does. An urgent one
    /// does not queue behind a background one still waiting for its slot (thousands may wait after a restart): it writes
    /// as soon as the one running has finished, and the queued one then writes only if there is something new.</summary>
    private Task SnapshotInOrderAsync(bool urgent = false)
    {
        if (urgent)
        {
            return WriteAfterRunningAsync();
        }

        if (_queuedSnapshot is { } queued)
        {
            return queued;
        }

        var started = false;
        var snapshot = QueueAsync();
        if (!started)
        {
            _queuedSnapshot = snapshot;
        }

        return snapshot;

        async Task QueueAsync()
        {
            try
            {
                await _services.SnapshotLimiter.RunAsync(() =>
                {
                    started = true;
                    _queuedSnapshot = null;
                    return _unsnapshotted.Count > 0 || _snapshotBeforeAppend ? WriteAfterRunningAsync() : Task.CompletedTask;
                });
            }
            finally
            {
                if (!started)
                {
                    _queuedSnapshot = null;
                }
            }
        }
    }

    private Task WriteAfterRunningAsync()
    {
        var running = _writingSnapshot;
        return _writingSnapshot = WriteAsync();

        async Task WriteAsync()
        {
            await running.ContinueWith(static _ => { }, TaskScheduler.Current);
            ThrowIfFailed();
            await WriteSnapshotAsync();
        }
    }

    /// <summary>Ledger pages first, as a batch under this activation's id, then the durable state with the journal
    /// position after which its newer records lie, naming the batch: only then do readers see its pages. A failure (an
    /// ETag conflict means another activation) fails the Space closed; pages written for a snapshot that was not are
    /// never read, so an activation that lost the ETag race to another owner, whose events under a sequence number may
    /// differ from the winner's, leaves nothing in the ledger (seen in the simulation with two owners, seed 780).</summary>
    private async Task WriteSnapshotAsync(bool final = false)
    {
        // Copy only what the snapshot keeps: the operation ids of its most recent durable events, not the whole window.
        // They are read from the live pool (the durable copy keeps none, see RecoverAsync), which has every id the
        // durable copy would, and later ones that the sequence bound leaves out. The window is built fresh (its records
        // hold immutable results), so it goes into the copy as it is rather than being copied again.
        _lastSnapshotAt = _services.Time.GetUtcNow();
        var durable = _durable.State;
        var (operations, closedHolds) = Live.RecentWindow(durable.Sequence, _services.Rules.Spaces.MaxSnapshotOperations);
        var state = _services.Copier.Copy(durable);
        (state.Operations, state.ClosedHolds) = (operations, closedHolds);

        // With nothing of this Space pending, its next record can only land after the journal's tail: pointing there
        // releases older segments for retention. Otherwise, the start of the block of its last durable record.
        var idle = _unwritten.Count == 0 && _appends.Idle;
        var from = idle ? _services.Journal.DurableTail : _durableFrom;
        var pages = _unsnapshotted.Seal();
        var named = _ledgerNamed;
        var batch = pages.Count > 0 ? new LedgerBatch(_ledgerWriter, pages[0].FirstSequence, pages[^1].LastSequence) : named;
        try
        {
            if (pages.Count > 0)
            {
                // Sent from the thread pool: a busy Space's pages are megabytes for the Table client to encode, and this
                // Space's requests should not wait behind that. The pages are immutable; nothing of the Space is touched.
                // The batch the last snapshot named is recorded with them: the snapshot written next names this one.
                await _services.Runtime.Run(() => _services.Ledger.WriteAsync(_spaceId, batch!, pages, named, CancellationToken.None));
            }

            await _snapshots.WriteAsync(new SpaceSnapshot { State = state, JournalFrom = from, Complete = final && idle, NotifiedThrough = _notifiedThrough, Ledger = batch });
        }
        catch (Exception exception)
        {
            Fail(exception, 0);
            throw Unavailable(exception);
        }

        _unsnapshotted.Release(pages.Count);
        _ledgerNamed = batch;
        _snapshotBeforeAppend = false;
        DirtySince = _unsnapshotted.Count > 0 ? _services.Time.GetUtcNow() : null;
        _services.Instruments.SnapshotWrites.Add(1);
        _releaseHeld = from;
        ReleaseHeldSegments();
    }

    private async Task<List<SpaceEvent>> ReplayAsync(JournalPosition from, CancellationToken cancellationToken)
    {
        var replayed = new List<SpaceEvent>();
        foreach (var record in await _services.Reader.ReadAsync(_spaceId, from, cancellationToken))
        {
            if (record.LastSequence <= _durable.State.Sequence)
            {
                continue;
            }

            if (record.FirstSequence > _durable.State.Sequence + 1)
            {
                // A gap: what follows it was never acknowledged.
                break;
            }

            foreach (var e in _services.Codec.Decode(record))
            {
                if (e.Sequence > _durable.State.Sequence)
                {
                    _durable.Apply(e);
                    replayed.Add(e);
                }
            }
        }

        return replayed;
    }

    private void Fail(Exception exception, int events)
    {
        // Memory now holds changes that may not be durable: refuse everything until a fresh activation reloads.
        if (_failure is null)
        {
            _failure = exception;
            QuotaLog.SpaceWriteFailed(_logger, exception, _spaceId, events);
            _failed();
        }
    }

    private void Observe(IReadOnlyList<SpaceEvent> events)
    {
        var instruments = _services.Instruments;
        foreach (var e in events)
        {
            switch (e)
            {
                case CreditsReserved r:
                    instruments.Credits.Add(r.UnitCredits * r.Count, new KeyValuePair<string, object?>("movement", "reserved"));
                    break;
                case HoldCommitted c:
                    instruments.Credits.Add(c.Credits, new KeyValuePair<string, object?>("movement", "committed"));
                    break;
                case HoldRefunded r:
                    instruments.Credits.Add(r.Credits, new KeyValuePair<string, object?>("movement", "refunded"));
                    break;
                case HoldExpired x:
                    instruments.Credits.Add(x.Credits, new KeyValuePair<string, object?>("movement", "expired"));
                    QuotaLog.HoldExpired(_logger, _spaceId, x.HoldId, x.Credits);
                    break;
                case CycleRenewed r:
                    QuotaLog.CycleRenewed(_logger, _spaceId, r.At, r.Allowance);
                    break;
                case UsageThresholdCrossed t:
                    QuotaLog.ThresholdCrossed(_logger, _spaceId, t.Percent, t.Used, t.Allowance);
                    break;
            }
        }
    }

    /// <summary>Wakes the Space when a hold expires, it renews, or a dirty snapshot is due, so that these happen even when
    /// nobody calls. Correctness does not depend on it: every call advances to now first.</summary>
    private void ScheduleWakeUp()
    {
        var due = Live.NextDueAt();
        // A snapshot already waiting for its slot covers the dirty state: waking for it again would only queue more.
        if (DirtySince is { } dirty && _queuedSnapshot is null && (due is null || dirty + _services.Options.SnapshotInterval < due))
        {
            due = dirty + _services.Options.SnapshotInterval;
        }

        if (due is null || (_wakeUpAt is { } planned && planned <= due))
        {
            return;
        }

        _wakeUpAt = due;
        _wakeAt(due.Value);
    }

    private QuotaUnavailableException Unavailable(Exception cause) =>
        cause as QuotaUnavailableException
        ?? new($"Space '{_spaceId}' could not make its changes durable; the outcome is unknown. Retry with the same operation id.", cause);
}
