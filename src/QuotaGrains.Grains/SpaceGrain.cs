using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Serialization;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains;

/// <summary>
/// The grain shell around one <see cref="SpacePool"/>: advance to now, decide, apply to memory, make durable,
/// reply. It is reentrant and decides synchronously before its first await, so requests that arrive while a write
/// is in flight are decided against that tentative state and ride in the next write (group commit without a lock).
/// A failed write fails every waiting request closed (outcome unknown) and deactivates the Space, which then
/// reloads from durable state.
/// </summary>
[Reentrant]
public sealed class SpaceGrain : Grain, ISpaceGrain
{
    private readonly IPersistentState<SpaceState> _storage;
    private readonly QuotaRules _rules;
    private readonly TimeProvider _time;
    private readonly DeepCopier<SpaceState> _copier;
    private readonly QuotaInstruments _instruments;
    private readonly ILogger<SpaceGrain> _logger;

    private SpacePool _pool = null!;
    private Task _lastWrite = Task.CompletedTask;
    private TaskCompletionSource? _nextWrite;
    private int _nextWriteEvents;
    private Exception? _failure;
    private IGrainTimer? _wakeTimer;
    private DateTimeOffset? _wakeAt;

    public SpaceGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storageOptions,
        QuotaRules rules,
        TimeProvider time,
        DeepCopier<SpaceState> copier,
        QuotaInstruments instruments,
        ILogger<SpaceGrain> logger)
    {
        _storage = stateFactory.Create<SpaceState>(grainContext, new StateConfiguration("space", storageOptions.Value.ProviderName));
        _rules = rules;
        _time = time;
        _copier = copier;
        _instruments = instruments;
        _logger = logger;
    }

    private string SpaceId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The pool owns a private copy: storage only ever sees copies taken between decisions.
        _pool = new SpacePool(SpaceId, _copier.Copy(_storage.State), _rules);
        var due = _pool.AdvanceTo(_time.GetUtcNow());
        return due.Count > 0 ? CommitAsync(due) : Task.CompletedTask;
    }

    public async Task<CommandResult> CreateAsync(CreateSpaceRequest request)
    {
        var outcome = Decide(p => p.Create(request, _time.GetUtcNow()), "create");
        await CommitAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            await NotifyMemberAsync(request.OwnerUserId);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> AddMemberAsync(AddMemberRequest request)
    {
        var outcome = Decide(p => p.AddMember(request, _time.GetUtcNow()), "add-member");
        await CommitAsync(outcome);
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
        await CommitAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            await NotifyMemberAsync(request.UserId);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> ChangePlanAsync(ChangePlanRequest request)
    {
        var outcome = Decide(p => p.ChangePlan(request, _time.GetUtcNow()), "change-plan");
        await CommitAsync(outcome);
        return outcome.Result;
    }

    public async Task<ReserveResult> ReserveAsync(string userId, ReserveRequest request)
    {
        var outcome = Decide(p => p.Reserve(userId, request, _time.GetUtcNow()), "reserve");
        await CommitAsync(outcome);
        return outcome.Result;
    }

    public async Task<SettleResult> CommitAsync(string userId, SettleRequest request)
    {
        var outcome = Decide(p => p.Commit(userId, request, _time.GetUtcNow()), "commit");
        await CommitAsync(outcome);
        return outcome.Result;
    }

    public async Task<SettleResult> RefundAsync(string userId, SettleRequest request)
    {
        var outcome = Decide(p => p.Refund(userId, request, _time.GetUtcNow()), "refund");
        await CommitAsync(outcome);
        return outcome.Result;
    }

    public Task<SpaceBalance?> GetBalanceAsync()
    {
        var now = Advance();
        return Task.FromResult(_pool.Balance(now));
    }

    public Task<IReadOnlyList<SpaceMember>> GetMembersAsync()
    {
        Advance();
        IReadOnlyList<SpaceMember> members = _pool.State.Members.Select(m => new SpaceMember(m.Key, m.Value)).OrderBy(m => m.UserId, StringComparer.Ordinal).ToList();
        return Task.FromResult(members);
    }

    public Task<IReadOnlyList<CycleUsage>> GetUsageAsync()
    {
        Advance();
        return Task.FromResult(_pool.Usage());
    }

    public Task<IReadOnlyList<UsageNotification>> GetNotificationsAsync()
    {
        Advance();
        IReadOnlyList<UsageNotification> notifications = _pool.State.Notifications.ToList();
        return Task.FromResult(notifications);
    }

    /// <summary>Reads see the pool as of now: renewals and expiries due are applied (and written) first.</summary>
    private DateTimeOffset Advance()
    {
        ThrowIfFailed();
        var now = _time.GetUtcNow();
        var due = _pool.AdvanceTo(now);
        if (due.Count > 0)
        {
            // Renewals and expiries are a function of state and time: a reader need not wait for them to be written.
            _ = CommitAsync(due).ContinueWith(static t => _ = t.Exception, TaskScheduler.Current);
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

    private Task CommitAsync<TResult>(Outcome<TResult> outcome)
        where TResult : OperationResult
    {
        if (outcome.Events.Count > 0)
        {
            return CommitAsync(outcome.Events);
        }

        // A replayed outcome is only as durable as the write that carries the original: wait for it.
        return outcome.Result.Replayed && _nextWrite is { } pending ? pending.Task : Task.CompletedTask;
    }

    private Task CommitAsync(IReadOnlyList<SpaceEvent> events)
    {
        Observe(events);
        ScheduleWakeUp();
        _nextWriteEvents += events.Count;
        if (_nextWrite is { } pending)
        {
            return pending.Task;
        }

        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _nextWrite = next;
        _lastWrite = WriteAfterAsync(_lastWrite, next);
        return next.Task;
    }

    /// <summary>One write at a time; every change decided while it is in flight goes in the following one.</summary>
    private async Task WriteAfterAsync(Task previous, TaskCompletionSource completion)
    {
        await previous;
        _nextWrite = null;
        var events = _nextWriteEvents;
        _nextWriteEvents = 0;
        if (_failure is not null)
        {
            completion.SetException(Unavailable(_failure));
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            _storage.State = _copier.Copy(_pool.State);
            await _storage.WriteStateAsync();
            _instruments.WriteDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _instruments.WriteBatch.Record(events);
            completion.SetResult();
        }
        catch (Exception exception)
        {
            // Memory now holds changes that may not be durable: refuse everything until a fresh activation reloads.
            _failure = exception;
            QuotaLog.SpaceWriteFailed(_logger, exception, SpaceId, events);
            completion.SetException(Unavailable(exception));
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

    /// <summary>Wakes the Space when its earliest hold expires (or it renews), so expiries are applied and written
    /// even when nobody calls. Correctness does not depend on it: every call advances to now first.</summary>
    private void ScheduleWakeUp()
    {
        var due = _pool.NextDueAt();
        if (due is null || (_wakeAt is { } planned && planned <= due))
        {
            return;
        }

        _wakeTimer?.Dispose();
        _wakeAt = due;
        var delay = due.Value - _time.GetUtcNow();
        _wakeTimer = this.RegisterGrainTimer(
            static (grain, _) => grain.WakeUpAsync(),
            this,
            new GrainTimerCreationOptions(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan) { Interleave = true });
    }

    private Task WakeUpAsync()
    {
        _wakeTimer?.Dispose();
        _wakeTimer = null;
        _wakeAt = null;
        if (_failure is not null)
        {
            return Task.CompletedTask;
        }

        var due = _pool.AdvanceTo(_time.GetUtcNow());
        if (due.Count > 0)
        {
            return CommitAsync(due);
        }

        ScheduleWakeUp();
        return Task.CompletedTask;
    }

    private Task NotifyMemberAsync(string userId)
    {
        var role = _pool.State.Members.TryGetValue(userId, out var r) ? r : (SpaceRole?)null;
        return GrainFactory.GetGrain<IUserGrain>(userId).RecordMembershipAsync(SpaceId, role, _pool.State.Sequence);
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw Unavailable(failure);
        }
    }

    private QuotaUnavailableException Unavailable(Exception cause) =>
        new($"Space '{SpaceId}' could not make its changes durable; the outcome is unknown. Retry with the same operation id.", cause);

    private sealed record StateConfiguration(string StateName, string StorageName) : IPersistentStateConfiguration;
}
