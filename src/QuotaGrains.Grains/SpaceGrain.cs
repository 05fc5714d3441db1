using QuotaGrains.Diagnostics;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;
using QuotaGrains.Grains.Renewals;
using QuotaGrains.Grains.Spaces;

namespace QuotaGrains.Grains;

/// <summary>
/// The grain shell around one Space: advance to now, decide on the live pool, hand the events to the Space's
/// <see cref="SpaceLog"/> (journal, durable copy, snapshots, recovery), reply once they are durable. Reentrant, and every
/// decision is made before the first await, so requests that arrive while an append is in flight are decided against
/// that tentative state and ride in the next append (group commit without a lock). A failed append or snapshot fails
/// every waiting request closed (outcome unknown) and deactivates the Space, which then reloads from durable state.
/// </summary>
[Reentrant]
internal sealed partial class SpaceGrain : Grain, ISpaceGrain, ISpaceMaintenanceGrain
{
    private readonly SpaceLog _log;
    private readonly TimeProvider _time;
    private readonly RenewalIndex _renewalIndex;
    private readonly QuotaInstruments _instruments;
    private readonly ActiveSpaces _active;
    private readonly ILogger<SpaceGrain> _logger;
    private readonly GrainCallTrace _trace;
    private readonly bool _durableStorage;
    private IGrainTimer? _wakeTimer;

    public SpaceGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storageOptions,
        SpaceLogServices services,
        RenewalIndex renewalIndex,
        ActiveSpaces active,
        GrainCallTrace trace,
        ILogger<SpaceGrain> logger)
    {
        _trace = trace;
        var storage = stateFactory.Create<SpaceSnapshot>(grainContext, "space", storageOptions.Value.ProviderName);
        _log = new SpaceLog(grainContext.GrainId.Key.ToString()!, new PersistentSnapshots(storage), services, WakeAt, DeactivateOnIdle);
        _durableStorage = storageOptions.Value.IsAzure;
        _time = services.Time;
        _instruments = services.Instruments;
        _renewalIndex = renewalIndex;
        _active = active;
        _logger = logger;
    }

    private string SpaceId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await _log.RecoverAsync(cancellationToken);
        _active.Add(_log);
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _wakeTimer?.Dispose();
        _active.Remove(_log);
        var shuttingDown = reason.ReasonCode == DeactivationReasonCode.ShuttingDown;
        return _log.CloseAsync(nowhereToGo: shuttingDown && !_durableStorage, shuttingDown, cancellationToken);
    }

    public async Task<CommandResult> CreateAsync(CreateSpaceRequest request)
    {
        var outcome = Decide(p => p.Create(request, _time.GetUtcNow()), "create", request);
        await _log.DurableAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            await NotifyMemberAsync(request.OwnerUserId);

            // Eager renewals: the Space's schedule goes into the renewal index (also on a replay, which repairs a
            // registration that failed).
            await _renewalIndex.RegisterAsync(SpaceId, _log.Live.State);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> AddMemberAsync(AddMemberRequest request)
    {
        var outcome = Decide(p => p.AddMember(request, _time.GetUtcNow()), "add-member", request);
        await _log.DurableAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            // Also on a replay: a retry after a failed notice repairs the user's view.
            await NotifyMemberAsync(request.UserId);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> RemoveMemberAsync(RemoveMemberRequest request)
    {
        var outcome = Decide(p => p.RemoveMember(request, _time.GetUtcNow()), "remove-member", request);
        await _log.DurableAsync(outcome);
        if (outcome.Result.Succeeded)
        {
            await NotifyMemberAsync(request.UserId);
        }

        return outcome.Result;
    }

    public async Task<CommandResult> ChangePlanAsync(ChangePlanRequest request)
    {
        var outcome = Decide(p => p.ChangePlan(request, _time.GetUtcNow()), "change-plan", request);
        await _log.DurableAsync(outcome);
        return outcome.Result;
    }

    public Task<ReserveResult> ReserveAsync(string userId, ReserveRequest request) =>
        _trace.Handle(GrainCallTrace.SpaceReserve, SpaceId, (Grain: this, userId, request), static s => s.Grain.Reserve(s.userId, s.request));

    public Task<SettleResult> CommitAsync(string userId, SettleRequest request) =>
        _trace.Handle(GrainCallTrace.SpaceCommit, SpaceId, (Grain: this, userId, request), static s => s.Grain.Commit(s.userId, s.request));

    public Task<SettleResult> RefundAsync(string userId, SettleRequest request) =>
        _trace.Handle(GrainCallTrace.SpaceRefund, SpaceId, (Grain: this, userId, request), static s => s.Grain.Refund(s.userId, s.request));

    private async Task<ReserveResult> Reserve(string userId, ReserveRequest request)
    {
        var outcome = Decide(p => p.Reserve(userId, request, _time.GetUtcNow()), "reserve", request);
        await _log.DurableAsync(outcome);
        return outcome.Result;
    }

    private async Task<SettleResult> Commit(string userId, SettleRequest request)
    {
        var outcome = Decide(p => p.Commit(userId, request, _time.GetUtcNow()), "commit", request);
        await _log.DurableAsync(outcome);
        return outcome.Result;
    }

    private async Task<SettleResult> Refund(string userId, SettleRequest request)
    {
        var outcome = Decide(p => p.Refund(userId, request, _time.GetUtcNow()), "refund", request);
        await _log.DurableAsync(outcome);
        return outcome.Result;
    }

    public Task<SpaceBalance?> GetBalanceAsync()
    {
        var view = _log.ReadView(out var now);
        return Task.FromResult(view.Balance(now));
    }

    public Task<IReadOnlyList<SpaceMember>> GetMembersAsync()
    {
        var view = _log.ReadView(out _);
        IReadOnlyList<SpaceMember> members = view.State.Members.Select(m => new SpaceMember(m.Key, m.Value)).OrderBy(m => m.UserId, StringComparer.Ordinal).ToList();
        return Task.FromResult(members);
    }

    public Task<IReadOnlyList<CycleUsage>?> GetUsageAsync()
    {
        var view = _log.ReadView(out _);
        return Task.FromResult(view.State.Created ? view.Usage() : null);
    }

    public Task<IReadOnlyList<UsageNotification>> GetNotificationsAsync()
    {
        var view = _log.ReadView(out _);
        IReadOnlyList<UsageNotification> notifications = view.State.Notifications.ToList();
        return Task.FromResult(notifications);
    }

    public Task<LedgerPage> GetLedgerAsync(LedgerQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.PageSize is < 1 or > LedgerQuery.MaxPageSize || query.AfterSequence < 0)
        {
            throw new ArgumentException($"PageSize must be 1..{LedgerQuery.MaxPageSize} and AfterSequence not negative.", nameof(query));
        }

        return _log.LedgerAsync(query);
    }

    public async Task<RenewalStatus?> RenewDueAsync()
    {
        // Renewals (and expiries) due by now, applied and then awaited until durable, like any write.
        _log.Advance();
        await _log.LatestWrite;
        var state = _log.Live.State;
        return state.Created ? new RenewalStatus(state.CycleStart, state.NextRenewal, state.Cadence, state.Anchor) : null;
    }

    public Task SnapshotAsync() => _log.SnapshotAsync();

    public Task HandOverNotificationsAsync() => _log.HandedOverAsync();

    private Outcome<TResult> Decide<TResult>(Func<SpacePool, Outcome<TResult>> decide, string kind, object? request)
        where TResult : OperationResult
    {
        var outcome = _log.Decide(decide);
        var result = outcome.Result.Rejection?.Code.ToString() ?? (outcome.Result.Replayed ? "Replayed" : "Accepted");
        _instruments.Requests.Add(1, new("kind", kind), new("outcome", result));
        if (outcome.Result.Rejection is not null)
        {
            _instruments.Rejections.Add(1, new("kind", kind), new("code", result));
        }

        if (Activity.Current is { IsAllDataRequested: true } span)
        {
            QuotaActivity.TagDecision(span, SpaceId, kind, request, result);
        }

        return outcome;
    }

    private Task NotifyMemberAsync(string userId)
    {
        var state = _log.Live.State;
        var role = state.Members.TryGetValue(userId, out var r) ? r : (SpaceRole?)null;
        return GrainBoundary.GuardAsync(
            GrainFactory.GetGrain<IUserGrain>(userId).RecordMembershipAsync(SpaceId, role, state.Sequence), "Recording membership for user", userId, _logger);
    }

    /// <summary>The log's wake-up, as a grain timer (one at a time).</summary>
    private void WakeAt(DateTimeOffset instant)
    {
        _wakeTimer?.Dispose();
        _wakeTimer = this.RegisterGrainTimerAt(_time, instant, static (grain, _) =>
        {
            grain._wakeTimer?.Dispose();
            grain._wakeTimer = null;
            return grain._log.WakeUpAsync();
        });
    }

    /// <summary>The Space's snapshot in Orleans grain storage.</summary>
    private sealed class PersistentSnapshots(IPersistentState<SpaceSnapshot> state) : ISpaceSnapshots
    {
        public SpaceSnapshot Current => state.State;

        public Task WriteAsync(SpaceSnapshot snapshot)
        {
            state.State = snapshot;
            return state.WriteStateAsync();
        }
    }
}
