using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Serialization;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Grains.Options;
using QuotaGrains.Grains.Renewals;

namespace QuotaGrains.Grains;

/// <summary>
/// The grain shell around one <see cref="SpacePool"/>: advance to now, decide, apply to memory, append the events
/// to the silo's journal, reply once the journal acknowledged them. Reentrant, and every decision is made before the
/// first await, so requests that arrive while an append is in flight are decided against that tentative state and
/// ride in the next append (group commit without a lock). A failed append or snapshot fails every waiting request
/// closed (outcome unknown) and deactivates the Space, which then reloads from durable state.
/// <para>Two pools: <c>_pool</c> is the tentative state requests are decided against; <c>_durable</c> receives
/// events only once the journal acknowledged them, and is what snapshots and the ledger are written from.</para>
/// </summary>
[Reentrant]
public sealed class SpaceGrain : Grain, ISpaceGrain
{
    private readonly IPersistentState<SpaceSnapshot> _storage;
    private readonly SnapshotWriteLimiter _snapshotLimiter;
    private readonly QuotaRules _rules;
    private readonly TimeProvider _time;
    private readonly DeepCopier<SpaceState> _copier;
    private readonly Serializer _serializer;
    private readonly SpaceJournal _journal;
    private readonly JournalReader _reader;
    private readonly ILedgerStore _ledger;
    private readonly RenewalIndex _renewalIndex;
    private readonly JournalOptions _journalOptions;
    private readonly bool _durableStorage;
    private readonly QuotaInstruments _instruments;
    private readonly ILogger<SpaceGrain> _logger;

    private SpacePool _pool = null!;
    private SpacePool _durable = null!;
    private List<SpaceEvent> _unwritten = [];
    // Durable events not yet in a snapshot, as the ledger pages the next snapshot writes.
    private readonly LedgerPageBuilder _unsnapshotted = new();
    private JournalPosition _durableFrom = null!;
    private bool _snapshotBeforeAppend = true;
    private DateTimeOffset? _dirtySince;
    private Task _lastWrite = Task.CompletedTask;
    private Task _latestWrite = Task.CompletedTask;
    private TaskCompletionSource? _nextWrite;
    private DateTimeOffset _lastSnapshotAt = DateTimeOffset.MinValue;
    private Task _writingSnapshot = Task.CompletedTask;
    private Task? _queuedSnapshot;
    private Exception? _failure;
    private IGrainTimer? _wakeTimer;
    private DateTimeOffset? _wakeAt;

    public SpaceGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storageOptions,
        IOptions<JournalOptions> journalOptions,
        QuotaRules rules,
        TimeProvider time,
        DeepCopier<SpaceState> copier,
        Serializer serializer,
        SpaceJournal journal,
        JournalReader reader,
        SnapshotWriteLimiter snapshotLimiter,
        ILedgerStore ledger,
        RenewalIndex renewalIndex,
        QuotaInstruments instruments,
        ILogger<SpaceGrain> logger)
    {
        _storage = stateFactory.Create<SpaceSnapshot>(grainContext, new StateConfiguration("space", storageOptions.Value.ProviderName));
        _journalOptions = journalOptions.Value;
        _durableStorage = storageOptions.Value.IsAzure;
        _rules = rules;
        _time = time;
        _copier = copier;
        _serializer = serializer;
        _journal = journal;
        _reader = reader;
        _snapshotLimiter = snapshotLimiter;
        _ledger = ledger;
        _renewalIndex = renewalIndex;
        _instruments = instruments;
        _logger = logger;
    }

    private string SpaceId => this.GetPrimaryKeyString();

    /// <summary>Recovery: the snapshot, then this Space's journal records after it (never one twice, none after a gap),
    /// read through the silo's <see cref="JournalReader"/>, which reads a stream once for every Space recovering from it.
    /// Then the Space serves: the replayed events are durable in the journal, and the snapshot that records them is
    /// written in the background (or before this activation's first append, whichever comes first), not on the way to
    /// serving: after a crash, thousands of Spaces recover at once, and as many Table writes would stand between each
    /// of them and its first answer.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var snapshot = _storage.State;
        var recovered = snapshot.State is null ? new SpaceState() : _copier.Copy(snapshot.State);
        _durable = new SpacePool(SpaceId, recovered, _rules);
        _durableFrom = _journal.DurableTail;
        if (snapshot.JournalFrom is { } from && !snapshot.Complete)
        {
            foreach (var e in await ReplayAsync(from, cancellationToken))
            {
                _unsnapshotted.Add(LedgerEntries.From(e));
            }
        }

        // The live pool holds every operation id the durable copy would, and more: keep them once (snapshots read the
        // window from the live pool, up to the durable sequence).
        _pool = _durable.HandOverOperationWindow(_copier.Copy(_durable.State));
        var now = _time.GetUtcNow();
        if (_unsnapshotted.Count > 0)
        {
            _dirtySince = now;
        }

        var changes = _pool.MigrateLegacyPools(now).Concat(_pool.AdvanceTo(now)).ToList();
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

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _wakeTimer?.Dispose();

        // In-memory storage dies with the silo: a snapshot at shutdown would have nowhere to go.
        if (_failure is not null || (reason.ReasonCode == DeactivationReasonCode.ShuttingDown && !_durableStorage))
        {
            return;
        }

        try
        {
            await _lastWrite.WaitAsync(cancellationToken);
            await (_queuedSnapshot ?? Task.CompletedTask).WaitAsync(cancellationToken);
            await _writingSnapshot.WaitAsync(cancellationToken);
            // A final snapshot with nothing pending spares the next activation a journal scan.
            if (_failure is null && (_unsnapshotted.Count > 0 || !_storage.State.Complete) && (_durable.State.Created || _unsnapshotted.Count > 0))
            {
                await _snapshotLimiter.RunAsync(() => WriteSnapshotAsync(final: true), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or QuotaUnavailableException
            || (e is ObjectDisposedException && reason.ReasonCode == DeactivationReasonCode.ShuttingDown))
        {
            // The journal holds everything acknowledged; the next activation replays it. A silo stopping with thousands
            // of Spaces to snapshot, one write at a time, runs out of its deadline (the token) or of its services.
        }
    }

    public async Task<CommandResult> CreateAsync(CreateSpaceRequest request)
    {
        var outcome = Decide(p => p.Create(request, _time.GetUtcNow()), "create");
        await DurableAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            await NotifyMemberAsync(request.OwnerUserId);

            // Eager renewals: the Space's schedule goes into the renewal index (also on a replay, which repairs a
            // registration that failed).
            await _renewalIndex.RegisterAsync(SpaceId, _pool.State);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> AddMemberAsync(AddMemberRequest request)
    {
        var outcome = Decide(p => p.AddMember(request, _time.GetUtcNow()), "add-member");
        await DurableAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            // Also on a replay: a retry after a failed notice repairs the user's view.
            await NotifyMemberAsync(request.UserId);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> RemoveMemberAsync(RemoveMemberRequest request)
    {
        var outcome = Decide(p => p.RemoveMember(request, _time.GetUtcNow()), "remove-member");
        await DurableAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            await NotifyMemberAsync(request.UserId);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> ChangePlanAsync(ChangePlanRequest request)
    {
        var outcome = Decide(p => p.ChangePlan(request, _time.GetUtcNow()), "change-plan");
        await DurableAsync(outcome);
        return outcome.Result;
    }

    public async Task<ReserveResult> ReserveAsync(string userId, ReserveRequest request)
    {
        var outcome = Decide(p => p.Reserve(userId, request, _time.GetUtcNow()), "reserve");
        await DurableAsync(outcome);
        return outcome.Result;
    }

    public async Task<SettleResult> CommitAsync(string userId, SettleRequest request)
    {
        var outcome = Decide(p => p.Commit(userId, request, _time.GetUtcNow()), "commit");
        await DurableAsync(outcome);
        return outcome.Result;
    }

    public async Task<SettleResult> RefundAsync(string userId, SettleRequest request)
    {
        var outcome = Decide(p => p.Refund(userId, request, _time.GetUtcNow()), "refund");
        await DurableAsync(outcome);
        return outcome.Result;
    }

    public Task<SpaceBalance?> GetBalanceAsync()
    {
        var view = ReadView(out var now);
        return Task.FromResult(view.Balance(now));
    }

    public Task<IReadOnlyList<SpaceMember>> GetMembersAsync()
    {
        var view = ReadView(out _);
        IReadOnlyList<SpaceMember> members = view.State.Members.Select(m => new SpaceMember(m.Key, m.Value)).OrderBy(m => m.UserId, StringComparer.Ordinal).ToList();
        return Task.FromResult(members);
    }

    public Task<IReadOnlyList<CycleUsage>?> GetUsageAsync()
    {
        var view = ReadView(out _);
        return Task.FromResult(view.State.Created ? view.Usage() : null);
    }

    public Task<IReadOnlyList<UsageNotification>> GetNotificationsAsync()
    {
        var view = ReadView(out _);
        IReadOnlyList<UsageNotification> notifications = view.State.Notifications.ToList();
        return Task.FromResult(notifications);
    }

    public async Task<LedgerPage> GetLedgerAsync(LedgerQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.PageSize is < 1 or > LedgerQuery.MaxPageSize || query.AfterSequence < 0)
        {
            throw new ArgumentException($"PageSize must be 1..{LedgerQuery.MaxPageSize} and AfterSequence not negative.", nameof(query));
        }

        // Entries already in the table, then durable ones that the next snapshot will write there.
        var pending = _unsnapshotted.Entries();
        var stored = await _ledger.QueryAsync(SpaceId, query, CancellationToken.None);
        var entries = stored
            .Concat(pending.Where(e => e.Sequence > query.AfterSequence && (query.From is null || e.At >= query.From) && (query.To is null || e.At < query.To)))
            .DistinctBy(e => e.Sequence)
            .OrderBy(e => e.Sequence)
            .Take(query.PageSize)
            .ToList();
        return new LedgerPage(entries, entries.Count == query.PageSize ? entries[^1].Sequence : null);
    }

    public async Task<RenewalStatus?> RenewDueAsync()
    {
        // Renewals (and expiries) due by now, applied and then awaited until durable, like any write.
        Advance();
        await _latestWrite;
        var state = _pool.State;
        return state.Created ? new RenewalStatus(state.CycleStart, state.NextRenewal, state.Cadence, state.Anchor) : null;
    }

    public async Task SnapshotAsync()
    {
        ThrowIfFailed();
        await _lastWrite;
        if (!_durable.State.Created && _unsnapshotted.Count == 0)
        {
            return;
        }

        if (_unsnapshotted.Count > 0 || _snapshotBeforeAppend)
        {
            await SnapshotInOrderAsync();
        }
    }

    /// <summary>What a read shows: only what cannot be lost. That is the durable copy (acknowledged events only, so a
    /// caller sees its own acknowledged writes, and never a decided change whose append may still fail), advanced to now
    /// by the renewal and expiry rules, which are a function of state and time. Those due are journaled from the live
    /// pool meanwhile; until they are durable, the read advances a copy.</summary>
    private SpacePool ReadView(out DateTimeOffset now)
    {
        now = Advance();
        if (_durable.NextDueAt() is not { } due || due > now)
        {
            return _durable;
        }

        var view = new SpacePool(SpaceId, _copier.Copy(_durable.State), _rules);
        view.ForgetOperationWindow();
        view.AdvanceTo(now);
        return view;
    }

    /// <summary>Renewals and expiries due by now are applied to the live pool and journaled.</summary>
    private DateTimeOffset Advance()
    {
        ThrowIfFailed();
        var now = _time.GetUtcNow();
        var due = _pool.AdvanceTo(now);
        if (due.Count > 0)
        {
            // Renewals and expiries are a function of state and time: a reader need not wait for them to be written.
            _ = AppendAsync(due).ContinueWith(static t => _ = t.Exception, TaskScheduler.Current);
        }

        return now;
    }

    private Outcome<TResult> Decide<TResult>(Func<SpacePool, Outcome<TResult>> decide, string kind)
        where TResult : OperationResult
    {
        ThrowIfFailed();
        var outcome = decide(_pool);
        _instruments.Requests.Add(1, new("kind", kind), new("outcome", outcome.Result.Rejection?.Code.ToString() ?? (outcome.Result.Replayed ? "Replayed" : "Accepted")));
        return outcome;
    }

    private Task DurableAsync<TResult>(Outcome<TResult> outcome)
        where TResult : OperationResult
    {
        if (outcome.Events.Count > 0)
        {
            return AppendAsync(outcome.Events);
        }

        // A replayed outcome is only as durable as the latest write, which carries the original or follows it.
        return outcome.Result.Replayed ? _latestWrite : Task.CompletedTask;
    }

    private Task AppendAsync(IReadOnlyList<SpaceEvent> events)
    {
        Observe(events);
        _unwritten.AddRange(events);
        if (_nextWrite is { } pending)
        {
            return pending.Task;
        }

        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _nextWrite = next;
        _latestWrite = next.Task;
        _lastWrite = WriteAfterAsync(_lastWrite, next);
        return next.Task;
    }

    /// <summary>One append in flight per Space; everything decided meanwhile goes in the following one. An append is
    /// only handed to the journal after the previous one is acknowledged, so a Space's records never overtake.</summary>
    private async Task WriteAfterAsync(Task previous, TaskCompletionSource completion)
    {
        await previous;
        _nextWrite = null;
        var events = _unwritten;
        _unwritten = [];
        if (_failure is not null)
        {
            completion.SetException(Unavailable(_failure));
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            if (_snapshotBeforeAppend)
            {
                // A crash after this activation's first append must find a snapshot that names this journal.
                await SnapshotInOrderAsync(urgent: true);
                _snapshotBeforeAppend = false;
            }

            var payload = _serializer.SerializeToArray(events.ToArray());
            var record = JournalRecord.Encode(SpaceId, events[0].Sequence, events.Count, payload);
            var blockStart = await _journal.AppendAsync(SpaceId, record);
            foreach (var e in events)
            {
                _durable.Apply(e);
                _unsnapshotted.Add(LedgerEntries.From(e));
            }

            _durableFrom = blockStart;
            _dirtySince ??= _time.GetUtcNow();
            _instruments.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _instruments.WriteBatch.Record(events.Count);
            completion.SetResult();
            if (_unsnapshotted.Count >= _journalOptions.SnapshotEveryEvents
                && _time.GetUtcNow() - _lastSnapshotAt >= _journalOptions.MinSnapshotSpacing)
            {
                _ = SnapshotInOrderAsync().ContinueWith(static t => _ = t.Exception, TaskScheduler.Current);
            }

            ScheduleWakeUp();
        }
        catch (Exception exception)
        {
            Fail(exception, events.Count);
            completion.SetException(Unavailable(exception));
        }
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
                await _snapshotLimiter.RunAsync(() =>
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

    /// <summary>Ledger entries first (upserts by sequence, so a replay is harmless), then the durable state with the
    /// journal position after which its newer records lie. A failure (an ETag conflict means another activation)
    /// fails the Space closed.</summary>
    private async Task WriteSnapshotAsync(bool final = false)
    {
        // Copy only what the snapshot keeps: the operation ids of its most recent durable events, not the whole window.
        // They are read from the live pool (the durable copy keeps none, see OnActivateAsync), which has every id the
        // durable copy would, and later ones that the sequence bound leaves out. The window is built fresh (its records
        // hold immutable results), so it goes into the copy as it is rather than being copied again.
        _lastSnapshotAt = _time.GetUtcNow();
        var durable = _durable.State;
        var (operations, closedHolds) = _pool.RecentWindow(durable.Sequence, _rules.Spaces.MaxSnapshotOperations);
        var state = _copier.Copy(durable);
        (state.Operations, state.ClosedHolds) = (operations, closedHolds);

        // With nothing of this Space pending, its next record can only land after the journal's tail: pointing there
        // releases older segments for retention. Otherwise, the start of the block of its last durable record.
        var idle = _unwritten.Count == 0 && _nextWrite is null && _lastWrite.IsCompleted;
        var from = idle ? _journal.DurableTail : _durableFrom;
        var pages = _unsnapshotted.Seal();
        try
        {
            if (pages.Count > 0)
            {
                // Sent from the thread pool: a busy Space's pages are megabytes for the Table client to encode, and this
                // grain's requests should not wait behind that. The pages are immutable; nothing of the grain is touched.
                await Task.Run(() => _ledger.WriteAsync(SpaceId, pages, CancellationToken.None));
            }

            _storage.State = new SpaceSnapshot { State = state, JournalFrom = from, Complete = final && idle };
            await _storage.WriteStateAsync();
        }
        catch (Exception exception)
        {
            Fail(exception, 0);
            throw Unavailable(exception);
        }

        _unsnapshotted.Release(pages.Count);
        _snapshotBeforeAppend = false;
        _dirtySince = _unsnapshotted.Count > 0 ? _time.GetUtcNow() : null;
        _instruments.SnapshotWrites.Add(1);
        _journal.ReleaseBefore(SpaceId, from);
    }

    private async Task<List<SpaceEvent>> ReplayAsync(JournalPosition from, CancellationToken cancellationToken)
    {
        var replayed = new List<SpaceEvent>();
        foreach (var record in await _reader.ReadAsync(SpaceId, from, cancellationToken))
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

            foreach (var e in _serializer.Deserialize<SpaceEvent[]>(record.Payload) ?? [])
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
            QuotaLog.SpaceWriteFailed(_logger, exception, SpaceId, events);
            DeactivateOnIdle();
        }
    }

    private void Observe(IReadOnlyList<SpaceEvent> events)
    {
        foreach (var e in events)
        {
            switch (e)
            {
                case CreditsReserved r:
                    _instruments.Credits.Add(r.UnitCredits * r.Count, new KeyValuePair<string, object?>("movement", "reserved"));
                    break;
                case HoldCommitted c:
                    _instruments.Credits.Add(c.Credits, new KeyValuePair<string, object?>("movement", "committed"));
                    break;
                case HoldRefunded r:
                    _instruments.Credits.Add(r.Credits, new KeyValuePair<string, object?>("movement", "refunded"));
                    break;
                case HoldExpired x:
                    _instruments.Credits.Add(x.Credits, new KeyValuePair<string, object?>("movement", "expired"));
                    QuotaLog.HoldExpired(_logger, SpaceId, x.HoldId, x.Credits);
                    break;
                case CycleRenewed r:
                    QuotaLog.CycleRenewed(_logger, SpaceId, r.At, r.Allowance);
                    break;
                case UsageThresholdCrossed t:
                    QuotaLog.ThresholdCrossed(_logger, SpaceId, t.Percent, t.Used, t.Allowance);
                    break;
            }
        }
    }

    /// <summary>Wakes the Space when a hold expires, it renews, or a dirty snapshot is due, so that these happen
    /// even when nobody calls. Correctness does not depend on it: every call advances to now first.</summary>
    private void ScheduleWakeUp()
    {
        var due = _pool.NextDueAt();
        // A snapshot already waiting for its slot covers the dirty state: waking for it again would only queue more.
        if (_dirtySince is { } dirty && _queuedSnapshot is null && (due is null || dirty + _journalOptions.SnapshotInterval < due))
        {
            due = dirty + _journalOptions.SnapshotInterval;
        }

        if (due is null || (_wakeAt is { } planned && planned <= due))
        {
            return;
        }

        _wakeTimer?.Dispose();
        _wakeAt = due;
        _wakeTimer = this.RegisterGrainTimerAt(_time, due.Value, static (grain, _) => grain.WakeUpAsync());
    }

    private async Task WakeUpAsync()
    {
        _wakeTimer?.Dispose();
        _wakeTimer = null;
        _wakeAt = null;
        if (_failure is not null)
        {
            return;
        }

        try
        {
            var now = _time.GetUtcNow();
            var due = _pool.AdvanceTo(now);
            if (due.Count > 0)
            {
                await AppendAsync(due);
            }

            if (_dirtySince is { } dirty && now - dirty >= _journalOptions.SnapshotInterval)
            {
                await SnapshotInOrderAsync();
            }

            ScheduleWakeUp();
        }
        catch (QuotaUnavailableException)
        {
            // Already failed closed and logged; the Space deactivates and reloads.
        }
    }

    private Task NotifyMemberAsync(string userId)
    {
        var role = _pool.State.Members.TryGetValue(userId, out var r) ? r : (SpaceRole?)null;
        return GrainBoundary.GuardAsync(
            GrainFactory.GetGrain<IUserGrain>(userId).RecordMembershipAsync(SpaceId, role, _pool.State.Sequence), "Recording membership for user", userId, _logger);
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw Unavailable(failure);
        }
    }

    private QuotaUnavailableException Unavailable(Exception cause) =>
        cause as QuotaUnavailableException
        ?? new($"Space '{SpaceId}' could not make its changes durable; the outcome is unknown. Retry with the same operation id.", cause);

    private sealed record StateConfiguration(string StateName, string StorageName) : IPersistentStateConfiguration;
}
