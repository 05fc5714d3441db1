using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Renewal;

namespace QuotaGrains.Domain.Spaces;

/// <summary>What a command decided: either events to apply, or a result that changes nothing
/// (a rejection, a replay of an earlier outcome, a free operation).</summary>
public readonly record struct Decision<TResult>(IReadOnlyList<SpaceEvent> Events, TResult? Immediate)
    where TResult : OperationResult
{
    public static Decision<TResult> Of(params SpaceEvent[] events) => new(events, null);

    public static implicit operator Decision<TResult>(TResult result) => new([], result);
}

/// <summary>The result of a command and every event it applied (due renewals and expiries first).</summary>
public readonly record struct Outcome<TResult>(TResult Result, IReadOnlyList<SpaceEvent> Events)
    where TResult : OperationResult;

/// <summary>
/// One Space's pool as a pure state machine: every rule of DOMAIN.md, no I/O and no clock of its own.
/// <c>Decide*</c> turns a request into events or a rejection without changing anything; <see cref="Apply"/> is
/// the only thing that changes <see cref="State"/>; <see cref="AdvanceTo"/> yields the renewals and hold expiries
/// due by an instant. The <c>Reserve</c>/<c>Commit</c>/… methods do all three in order.
/// </summary>
public sealed class SpacePool
{
    private const int MaxNotificationsKept = 100;
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);

    private readonly QuotaRules _rules;
    private OperationWindow _operations = new();
    private IdRing<bool> _closedHolds = new();
    private string? _lastRecordedId;
    private OperationResult? _lastRecorded;
    private DateTimeOffset? _earliestExpiry;
    private bool _earliestExpiryKnown;

    public SpacePool(string spaceId, SpaceState state, QuotaRules rules)
    {
        SpaceId = spaceId;
        State = state;
        _rules = rules;

        // A snapshot carries its ids and closed holds in State; the pool keeps them in its windows, and only there.
        foreach (var (id, record) in state.Operations.OrderBy(o => o.Value.Sequence))
        {
            _operations.Add(id, record);
        }

        foreach (var (id, closed) in state.ClosedHolds.OrderBy(o => o.Value.Sequence))
        {
            _closedHolds.Add(id, closed.Sequence, closed.At, closed.Expired);
        }

        state.Operations.Clear();
        state.ClosedHolds.Clear();
    }

    /// <summary>A pool over <paramref name="state"/> (a copy of this pool's state) that takes over this pool's
    /// operation window; this one keeps none from then on (see <see cref="ForgetOperationWindow"/>).</summary>
    public SpacePool HandOverOperationWindow(SpaceState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var pool = new SpacePool(SpaceId, state, _rules) { _operations = _operations, _closedHolds = _closedHolds };
        _operations = new OperationWindow();
        _closedHolds = new IdRing<bool>();
        ForgetOperationWindow();
        return pool;
    }

    public string SpaceId { get; }

    public SpaceState State { get; }

    public QuotaRules Rules => _rules;

    /// <summary>The operation ids this pool remembers, with their first outcomes.</summary>
    public OperationWindow Operations => _operations;

    /// <summary>The holds this pool closed (settled or expired) within the retention window, to tell "expired" from
    /// "never existed"; the value says expired.</summary>
    public IdRing<bool> ClosedHolds => _closedHolds;

    // ---- Commands: advance, decide, apply -------------------------------------------------------------------

    public Outcome<CommandResult> Create(CreateSpaceRequest request, DateTimeOffset now) =>
        Run(now, n => DecideCreate(request, n), request?.OperationId);

    public Outcome<CommandResult> AddMember(AddMemberRequest request, DateTimeOffset now) =>
        Run(now, n => DecideAddMember(request, n), request?.OperationId);

    public Outcome<CommandResult> RemoveMember(RemoveMemberRequest request, DateTimeOffset now) =>
        Run(now, n => DecideRemoveMember(request, n), request?.OperationId);

    public Outcome<CommandResult> ChangePlan(ChangePlanRequest request, DateTimeOffset now) =>
        Run(now, n => DecideChangePlan(request, n), request?.OperationId);

    public Outcome<ReserveResult> Reserve(string userId, ReserveRequest request, DateTimeOffset now) =>
        Run(now, n => DecideReserve(userId, request, n), request?.OperationId);

    public Outcome<SettleResult> Commit(string userId, SettleRequest request, DateTimeOffset now) =>
        Run(now, n => DecideSettle(userId, request, n, commit: true), request?.OperationId);

    public Outcome<SettleResult> Refund(string userId, SettleRequest request, DateTimeOffset now) =>
        Run(now, n => DecideSettle(userId, request, n, commit: false), request?.OperationId);

    /// <summary>Applies every renewal and hold expiry due by <paramref name="now"/>, in time order, one event each.</summary>
    public IReadOnlyList<SpaceEvent> AdvanceTo(DateTimeOffset now)
    {
        var events = new List<SpaceEvent>();
        AdvanceInto(now, events);
        return events;
    }

    /// <summary>Merges a legacy Space's image and video pools into one, once: allowance and used are the sums.</summary>
    public IReadOnlyList<SpaceEvent> MigrateLegacyPools(DateTimeOffset now)
    {
        if (State.LegacyPools is not { } legacy)
        {
            return [];
        }

        // Stamped no later than a missed renewal, so that the renewals caught up after it keep time order.
        var at = Max(State.LastEventAt, now < State.NextRenewal ? now : State.NextRenewal);
        var migrated = new PoolsMigrated(
            Next(1), at, legacy.ImageAllowance, legacy.ImageUsed, legacy.VideoAllowance, legacy.VideoUsed,
            legacy.ImageAllowance + legacy.VideoAllowance, legacy.ImageUsed + legacy.VideoUsed);
        Apply(migrated);
        return [migrated];
    }

    /// <summary>The pool as it stands (call <see cref="AdvanceTo"/> first to see it as of an instant).</summary>
    public SpaceBalance? Balance(DateTimeOffset asOf) => !State.Created ? null : new SpaceBalance(
        SpaceId, State.Plan, State.PendingPlan, State.Allowance, State.Used, State.Held, State.CycleStart,
        State.NextRenewal, State.CatalogVersion, State.Holds.Count, State.Members.Count, asOf);

    /// <summary>The earliest instant at which <see cref="AdvanceTo"/> will have something to do.</summary>
    public DateTimeOffset? NextDueAt()
    {
        if (!State.Created)
        {
            return null;
        }

        var expiry = EarliestExpiry();
        return expiry is { } e && e < State.NextRenewal ? e : State.NextRenewal;
    }

    public IReadOnlyList<CycleUsage> Usage() =>
        [State.CurrentUsage.ToView(State.CycleStart, State.NextRenewal, State.Allowance), .. State.History];

    // ---- Decisions (pure) ----------------------------------------------------------------------------------

    public Decision<CommandResult> DecideCreate(CreateSpaceRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.OwnerUserId, "OwnerUserId") ?? CheckId(SpaceId, "SpaceId")) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (CheckPlan(request.Plan, request.CustomAllowance) is { } badPlan)
        {
            return CommandResult.Rejected(badPlan);
        }

        if (!Enum.IsDefined(request.Cadence))
        {
            return Invalid<CommandResult>($"Unknown cadence {(int)request.Cadence}.");
        }

        if (request.SubscribedAt is { } subscribed && subscribed > now)
        {
            return Invalid<CommandResult>("SubscribedAt is in the future.");
        }

        var fingerprint = Fingerprint.Start("create").Add(request.OwnerUserId).Add((long)request.Plan)
            .Add((long)request.Cadence).Add(request.SubscribedAt?.UtcTicks ?? -1).Add(request.CustomAllowance ?? -1).Value;
        if (State.Created)
        {
            return Replay<CommandResult>(request.OperationId, fingerprint)
                ?? CommandResult.Rejected(new Rejection(RejectionCode.SpaceAlreadyExists, $"Space '{SpaceId}' already exists."));
        }

        // Free Spaces renew monthly from their creation instant (DOMAIN.md, ours).
        var (cadence, anchor) = request.Plan == PlanTier.Free
            ? (BillingCadence.Monthly, RenewalSchedule.Normalize(now))
            : (request.Cadence, RenewalSchedule.Normalize(request.SubscribedAt ?? now));
        var cycle = RenewalSchedule.CycleAt(anchor, cadence, Max(now, anchor));
        var version = _rules.Plans.VersionAt(now);
        return Decision<CommandResult>.Of(new SpaceCreated(
            Next(1), now, request.OperationId, fingerprint, request.OwnerUserId, request.Plan, request.CustomAllowance,
            cadence, anchor, version.Version, version.AllowanceOf(request.Plan, request.CustomAllowance), cycle.Start, cycle.End));
    }

    public Decision<CommandResult> DecideAddMember(AddMemberRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.ActorUserId, "ActorUserId") ?? CheckId(request.UserId, "UserId")) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (!Enum.IsDefined(request.Role))
        {
            return Invalid<CommandResult>($"Unknown role {(int)request.Role}.");
        }

        if (NotFound<CommandResult>() is { } missing)
        {
            return missing;
        }

        var fingerprint = Fingerprint.Start("add-member").Add(request.ActorUserId).Add(request.UserId).Add((long)request.Role).Value;
        if (Replay<CommandResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        var current = State.Members.TryGetValue(request.UserId, out var role) ? role : (SpaceRole?)null;
        var ownerChange = request.Role == SpaceRole.Owner || current == SpaceRole.Owner;
        if (Authorize(request.ActorUserId, ownerChange ? SpaceRole.Owner : SpaceRole.Admin) is { } denied)
        {
            return CommandResult.Rejected(denied);
        }

        if (current == SpaceRole.Owner && request.Role != SpaceRole.Owner && OwnerCount() == 1)
        {
            return Invalid<CommandResult>("The last Owner of a Space cannot be demoted.");
        }

        return Decision<CommandResult>.Of(new MemberAdded(Next(1), now, request.OperationId, fingerprint, request.UserId, request.Role));
    }

    public Decision<CommandResult> DecideRemoveMember(RemoveMemberRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.ActorUserId, "ActorUserId") ?? CheckId(request.UserId, "UserId")) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (NotFound<CommandResult>() is { } missing)
        {
            return missing;
        }

        var fingerprint = Fingerprint.Start("remove-member").Add(request.ActorUserId).Add(request.UserId).Value;
        if (Replay<CommandResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (!State.Members.TryGetValue(request.UserId, out var role))
        {
            return CommandResult.Rejected(new Rejection(RejectionCode.NotAMember, $"User '{request.UserId}' is not a member of Space '{SpaceId}'."));
        }

        // Anyone may leave; removing someone else takes an Admin, removing an Owner takes an Owner.
        if (request.ActorUserId != request.UserId
            && Authorize(request.ActorUserId, role == SpaceRole.Owner ? SpaceRole.Owner : SpaceRole.Admin) is { } denied)
        {
            return CommandResult.Rejected(denied);
        }

        if (role == SpaceRole.Owner && OwnerCount() == 1)
        {
            return Invalid<CommandResult>("The last Owner of a Space cannot be removed.");
        }

        return Decision<CommandResult>.Of(new MemberRemoved(Next(1), now, request.OperationId, fingerprint, request.UserId));
    }

    public Decision<CommandResult> DecideChangePlan(ChangePlanRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.ActorUserId, "ActorUserId") ?? CheckPlan(request.Plan, request.CustomAllowance)) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (NotFound<CommandResult>() is { } missing)
        {
            return missing;
        }

        var fingerprint = Fingerprint.Start("change-plan").Add(request.ActorUserId).Add((long)request.Plan).Add(request.CustomAllowance ?? -1).Value;
        if (Replay<CommandResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (Authorize(request.ActorUserId, SpaceRole.Admin) is { } denied)
        {
            return CommandResult.Rejected(denied);
        }

        // Upgrade (same or larger allowance in the cycle's catalog version): at once. Downgrade: at the next renewal.
        var allowance = CurrentCatalog().AllowanceOf(request.Plan, request.CustomAllowance);
        return allowance >= State.Allowance
            ? Decision<CommandResult>.Of(new PlanUpgraded(Next(1), now, request.OperationId, fingerprint, request.Plan, request.CustomAllowance, allowance))
            : Decision<CommandResult>.Of(new PlanChangeScheduled(Next(1), now, request.OperationId, fingerprint, request.Plan, request.CustomAllowance, State.NextRenewal));
    }

    public Decision<ReserveResult> DecideReserve(string userId, ReserveRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<ReserveResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(userId, "UserId")) is { } bad)
        {
            return ReserveResult.Rejected(bad);
        }

        if (request.Count < 1 || request.Count > _rules.Spaces.MaxBatchItems)
        {
            return Invalid<ReserveResult>($"Count must be between 1 and {_rules.Spaces.MaxBatchItems}; it was {request.Count}.");
        }

        var price = _rules.Prices.Price(request.Spec);
        if (price.Rejection is { } unpriced)
        {
            return ReserveResult.Rejected(unpriced);
        }

        if (NotFound<ReserveResult>() is { } missing)
        {
            return missing;
        }

        var spec = request.Spec;
        var fingerprint = Fingerprint.Start("reserve").Add(userId).Add(spec.Feature.ToLowerInvariant()).Add((long)spec.Media)
            .Add((long)spec.Resolution).Add(request.Count).Value;
        if (Replay<ReserveResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (!State.Members.ContainsKey(userId))
        {
            return ReserveResult.Rejected(new Rejection(RejectionCode.NotAMember, $"User '{userId}' is not a member of Space '{SpaceId}'."));
        }

        if (State.Holds.TryGetValue(request.OperationId, out var open))
        {
            // The operation record may have been pruned from a busy Space's window; the open hold still answers.
            return open.UserId == userId && open.Spec.Feature.Equals(spec.Feature, StringComparison.OrdinalIgnoreCase)
                && open.Spec.Media == spec.Media && open.Spec.Resolution == spec.Resolution && open.Items.Length == request.Count
                ? new ReserveResult
                {
                    HoldId = open.HoldId, Items = open.Items.Length, UnitCredits = open.UnitCredits, Credits = open.UnitCredits * open.Items.Length,
                    ExpiresAt = open.ExpiresAt, Available = open.AvailableAfterReserve, Replayed = true,
                }
                : ReserveResult.Rejected(new Rejection(RejectionCode.OperationIdReused, $"Operation id '{request.OperationId}' was already used with other parameters."));
        }

        if (_closedHolds.Contains(request.OperationId))
        {
            return Invalid<ReserveResult>($"Hold '{request.OperationId}' was already used.");
        }

        if (price.IsFree)
        {
            // Free operations use no credits and are not generations: nothing to hold, nothing recorded.
            return new ReserveResult { Items = request.Count, Available = Available() };
        }

        var required = price.UnitCredits * request.Count;
        var available = Available();
        if (required > available)
        {
            return ReserveResult.Rejected(new Rejection(
                RejectionCode.InsufficientCredits,
                $"Space '{SpaceId}' has {available} credits available; this needs {required}.",
                available, required, State.NextRenewal));
        }

        return Decision<ReserveResult>.Of(new CreditsReserved(
            Next(1), now, request.OperationId, fingerprint, userId, spec, request.Count, price.UnitCredits, now + _rules.Spaces.HoldTimeToLive));
    }

    public Decision<SettleResult> DecideSettle(string userId, SettleRequest request, DateTimeOffset now, bool commit)
    {
        if (request is null)
        {
            return Invalid<SettleResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.HoldId, "HoldId") ?? CheckId(userId, "UserId")) is { } bad)
        {
            return SettleResult.Rejected(request.HoldId ?? "", bad);
        }

        if (request.Items is { } listed && CheckItemList(listed) is { } badItems)
        {
            return SettleResult.Rejected(request.HoldId, badItems);
        }

        if (NotFound<SettleResult>() is { } missing)
        {
            return missing with { HoldId = request.HoldId };
        }

        var fingerprint = Fingerprint.Start(commit ? "commit" : "refund").Add(userId).Add(request.HoldId).Add(request.Items).Value;
        if (Replay<SettleResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (!State.Holds.TryGetValue(request.HoldId, out var hold) || hold.UserId != userId)
        {
            // A closed hold is told apart from none while the Space remembers it (ClosedHolds, the operation id window).
            var closed = hold is null && _closedHolds.TryGet(request.HoldId, out _, out _, out var expiredBefore) ? expiredBefore : (bool?)null;
            return SettleResult.Rejected(request.HoldId, closed switch
            {
                true => new Rejection(RejectionCode.HoldExpired, $"Hold '{request.HoldId}' expired; its credits went back to the pool."),
                false => new Rejection(RejectionCode.ItemAlreadySettled, $"Hold '{request.HoldId}' is already settled: every item was committed or refunded."),
                null => new Rejection(RejectionCode.HoldNotFound, $"No open hold '{request.HoldId}' of user '{userId}' in Space '{SpaceId}' (a hold closed longer ago than the Space remembers operations is not found either)."),
            });
        }

        int count;
        if (request.Items is null)
        {
            count = hold.Pending;
        }
        else
        {
            foreach (var index in request.Items)
            {
                if (index >= hold.Items.Length)
                {
                    return SettleResult.Rejected(request.HoldId, new Rejection(RejectionCode.InvalidRequest, $"Item {index} is out of range: hold '{request.HoldId}' has {hold.Items.Length} items."));
                }

                if (hold.Items[index] != HoldItemStatus.Pending)
                {
                    return SettleResult.Rejected(request.HoldId, new Rejection(RejectionCode.ItemAlreadySettled, $"Item {index} of hold '{request.HoldId}' is already {hold.Items[index].ToString().ToLowerInvariant()}."));
                }
            }

            count = request.Items.Count;
        }

        var items = request.Items?.ToArray();
        var credits = count * hold.UnitCredits;
        if (!commit)
        {
            return Decision<SettleResult>.Of(new HoldRefunded(Next(1), now, request.OperationId, fingerprint, request.HoldId, items, credits));
        }

        var events = new List<SpaceEvent> { new HoldCommitted(Next(1), now, request.OperationId, fingerprint, request.HoldId, items, credits) };
        var usedAfter = State.Used + credits;
        foreach (var percent in _rules.Spaces.UsageThresholds.Order())
        {
            if (!State.CurrentUsage.ThresholdsCrossed.Contains(percent) && Reached(usedAfter, percent, State.Allowance))
            {
                events.Add(new UsageThresholdCrossed(Next(events.Count + 1), now, percent, usedAfter, State.Allowance));
            }
        }

        return new Decision<SettleResult>(events, null);
    }

    // ---- Apply: the only state transition ------------------------------------------------------------------

    public void Apply(SpaceEvent e)
    {
        if (e.Sequence != State.Sequence + 1)
        {
            throw new InvalidOperationException($"Space '{SpaceId}': event {e.Sequence} does not follow {State.Sequence}.");
        }

        switch (e)
        {
            case SpaceCreated c:
                State.Created = true;
                State.OwnerUserId = c.OwnerUserId;
                State.Members[c.OwnerUserId] = SpaceRole.Owner;
                State.Plan = c.Plan;
                State.CustomAllowance = c.CustomAllowance;
                State.Cadence = c.Cadence;
                State.Anchor = c.Anchor;
                State.CreatedAt = RenewalSchedule.Normalize(c.At);
                State.CatalogVersion = c.CatalogVersion;
                State.Allowance = c.Allowance;
                State.CycleStart = c.CycleStart;
                State.NextRenewal = c.NextRenewal;
                Record(c, CommandResult.Ok);
                break;

            case MemberAdded m:
                State.Members[m.UserId] = m.Role;
                Record(m, CommandResult.Ok);
                break;

            case MemberRemoved m:
                State.Members.Remove(m.UserId);
                Record(m, CommandResult.Ok);
                break;

            case PlanUpgraded p:
                State.Plan = p.Plan;
                State.CustomAllowance = p.CustomAllowance;
                State.Allowance = p.Allowance;
                State.PendingPlan = null;
                State.PendingCustomAllowance = null;
                Record(p, CommandResult.Ok);
                break;

            case PlanChangeScheduled p:
                State.PendingPlan = p.Plan;
                State.PendingCustomAllowance = p.CustomAllowance;
                Record(p, CommandResult.Ok);
                break;

            case CreditsReserved r:
                ApplyReserved(r);
                break;

            case HoldCommitted c:
                ApplySettled(c, c.HoldId, c.Items, HoldItemStatus.Committed);
                break;

            case HoldRefunded r:
                ApplySettled(r, r.HoldId, r.Items, HoldItemStatus.Refunded);
                break;

            case HoldExpired x:
                ApplyExpired(x);
                break;

            case CycleRenewed r:
                ApplyRenewed(r);
                break;

            case PoolsMigrated m:
                State.LegacyPools = null;
                State.Allowance = m.Allowance;
                State.Used = m.Used;
                break;

            case UsageThresholdCrossed t:
                State.CurrentUsage.ThresholdsCrossed.Add(t.Percent);
                State.Notifications.Add(new UsageNotification(SpaceId, State.CycleStart, t.Percent, t.Used, t.Allowance, t.At));
                if (State.Notifications.Count > MaxNotificationsKept)
                {
                    State.Notifications.RemoveAt(0);
                }

                break;

            default:
                throw new InvalidOperationException($"Unknown event {e.GetType().Name}.");
        }

        State.Sequence = e.Sequence;
        State.LastEventAt = Max(State.LastEventAt, e.At);
    }

    private void ApplyReserved(CreditsReserved r)
    {
        var hold = new Hold
        {
            HoldId = r.OperationId,
            UserId = r.UserId,
            Spec = r.Spec,
            UnitCredits = r.UnitCredits,
            Items = new HoldItemStatus[r.Count],
            Pending = r.Count,
            ReservedAt = r.At,
            ExpiresAt = r.ExpiresAt,
        };
        State.Holds[hold.HoldId] = hold;
        State.Held += hold.PendingCredits;
        hold.AvailableAfterReserve = Available();
        if (_earliestExpiryKnown && (_earliestExpiry is null || r.ExpiresAt < _earliestExpiry))
        {
            _earliestExpiry = r.ExpiresAt;
        }

        Record(r, new ReserveResult
        {
            HoldId = hold.HoldId,
            Items = r.Count,
            UnitCredits = r.UnitCredits,
            Credits = hold.PendingCredits,
            ExpiresAt = r.ExpiresAt,
            Available = Available(),
        });
    }

    private void ApplySettled(RequestEvent e, string holdId, int[]? items, HoldItemStatus status)
    {
        var hold = State.Holds[holdId];
        var settled = 0;
        if (items is null)
        {
            for (var i = 0; i < hold.Items.Length; i++)
            {
                if (hold.Items[i] == HoldItemStatus.Pending)
                {
                    hold.Items[i] = status;
                    settled++;
                }
            }
        }
        else
        {
            foreach (var i in items)
            {
                hold.Items[i] = status;
            }

            settled = items.Length;
        }

        var credits = settled * hold.UnitCredits;
        hold.Pending -= settled;
        State.Held -= credits;
        if (status == HoldItemStatus.Committed)
        {
            State.Used += credits;
            State.CurrentUsage.Add(hold.UserId, hold.Spec, credits, settled);
        }

        if (hold.Pending == 0)
        {
            CloseHold(hold, expired: false, e.At);
        }

        Record(e, new SettleResult
        {
            HoldId = holdId,
            CommittedCredits = status == HoldItemStatus.Committed ? credits : 0,
            RefundedCredits = status == HoldItemStatus.Refunded ? credits : 0,
            ItemsSettled = settled,
            ItemsPending = hold.Pending,
        });
    }

    private void ApplyExpired(HoldExpired x)
    {
        var hold = State.Holds[x.HoldId];
        for (var i = 0; i < hold.Items.Length; i++)
        {
            if (hold.Items[i] == HoldItemStatus.Pending)
            {
                hold.Items[i] = HoldItemStatus.Expired;
            }
        }

        State.Held -= hold.PendingCredits;
        hold.Pending = 0;
        CloseHold(hold, expired: true, x.At);
    }

    private void ApplyRenewed(CycleRenewed r)
    {
        State.History.Insert(0, State.CurrentUsage.ToView(State.CycleStart, r.At, State.Allowance));
        if (State.History.Count > _rules.Spaces.UsageHistoryCycles)
        {
            State.History.RemoveRange(_rules.Spaces.UsageHistoryCycles, State.History.Count - _rules.Spaces.UsageHistoryCycles);
        }

        State.Plan = r.Plan;
        State.CustomAllowance = r.CustomAllowance;
        State.PendingPlan = null;
        State.PendingCustomAllowance = null;
        State.CatalogVersion = r.CatalogVersion;
        State.Allowance = r.Allowance;
        State.Used = 0;
        State.CycleStart = r.At;
        State.NextRenewal = r.NextRenewal;
        State.Cadence = r.Cadence;
        State.Anchor = r.Anchor;
        State.CurrentUsage = new UsageLedger();
    }

    private void CloseHold(Hold hold, bool expired, DateTimeOffset at)
    {
        State.Holds.Remove(hold.HoldId);
        if (KeepsOperationWindow)
        {
            _closedHolds.Add(hold.HoldId, State.Sequence + 1, at, expired);
            _closedHolds.Prune(DateTimeOffset.MinValue, _rules.Spaces.MaxRememberedOperations);
        }

        if (_earliestExpiry == hold.ExpiresAt)
        {
            _earliestExpiryKnown = false;
        }
    }

    private void Record(RequestEvent e, OperationResult result)
    {
        if (KeepsOperationWindow)
        {
            _operations.Add(e.OperationId, new OperationRecord(e.Fingerprint, e.At, result, e.Sequence));
            (_lastRecordedId, _lastRecorded) = (e.OperationId, result);
            _operations.Prune(DateTimeOffset.MinValue, _rules.Spaces.MaxRememberedOperations);
        }
    }

    /// <summary>False once <see cref="ForgetOperationWindow"/> was called: applying events then keeps balances, holds,
    /// members and usage but no operation ids or closed holds. For a shadow copy whose window another pool already
    /// holds (the grain's durable copy, which the live pool is ahead of), so that each id is kept once.</summary>
    public bool KeepsOperationWindow { get; private set; } = true;

    /// <summary>Drops the operation ids and closed holds and keeps none from now on (see <see cref="KeepsOperationWindow"/>).
    /// Such a pool must not decide requests: it could not recognize a retry.</summary>
    public void ForgetOperationWindow()
    {
        KeepsOperationWindow = false;
        _operations.Clear();
        (_lastRecordedId, _lastRecorded) = (null, null);
        _closedHolds.Clear();
    }

    // ---- Time ------------------------------------------------------------------------------------------------

    private void AdvanceInto(DateTimeOffset now, List<SpaceEvent> events)
    {
        if (!State.Created)
        {
            return;
        }

        while (true)
        {
            var expiry = EarliestExpiry();
            if (expiry is { } at && at <= now && at <= State.NextRenewal)
            {
                var hold = State.Holds.Values.First(h => h.ExpiresAt == at);
                Emit(new HoldExpired(Next(1), Max(at, State.LastEventAt), hold.HoldId, hold.Pending, hold.PendingCredits), events);
            }
            else if (State.NextRenewal <= now)
            {
                // Open holds carry over into the new cycle. Those that do not fit its allowance (after a downgrade)
                // expire at the renewal instant, newest first, so that used + held never exceeds the allowance.
                var renewalAt = State.NextRenewal;
                var (_, _, _, allowance) = NextCycleTerms(renewalAt);
                foreach (var hold in State.Holds.Values.OrderByDescending(h => h.ReservedAt).ThenBy(h => h.HoldId, StringComparer.Ordinal).ToList())
                {
                    if (State.Held <= allowance)
                    {
                        break;
                    }

                    Emit(new HoldExpired(Next(1), Max(renewalAt, State.LastEventAt), hold.HoldId, hold.Pending, hold.PendingCredits), events);
                }

                Emit(DecideRenewal(renewalAt), events);
            }
            else
            {
                break;
            }
        }

        Prune(now);
    }

    private CycleRenewed DecideRenewal(DateTimeOffset at)
    {
        var (plan, custom, version, allowance) = NextCycleTerms(at);

        // Free Spaces renew monthly from their creation instant, also once a paid plan was cancelled (ours).
        var (cadence, anchor) = plan == PlanTier.Free && State.CreatedAt != default
            ? (BillingCadence.Monthly, State.CreatedAt)
            : (State.Cadence, State.Anchor);
        return new CycleRenewed(
            Next(1), at, plan, custom, version, allowance, RenewalSchedule.NextAfter(anchor, cadence, at), State.Held, cadence, anchor);
    }

    /// <summary>The plan (a pending change applied) and catalog version in effect at the renewal instant.</summary>
    private (PlanTier Plan, long? Custom, int Version, long Allowance) NextCycleTerms(DateTimeOffset at)
    {
        var plan = State.PendingPlan ?? State.Plan;
        var custom = State.PendingPlan is null ? State.CustomAllowance : State.PendingCustomAllowance;
        var version = _rules.Plans.VersionAt(at);
        return (plan, custom, version.Version, version.AllowanceOf(plan, custom));
    }

    private void Emit(SpaceEvent e, List<SpaceEvent> events)
    {
        Apply(e);
        events.Add(e);
    }

    private DateTimeOffset? EarliestExpiry()
    {
        if (!_earliestExpiryKnown)
        {
            _earliestExpiry = null;
            foreach (var hold in State.Holds.Values)
            {
                if (_earliestExpiry is null || hold.ExpiresAt < _earliestExpiry)
                {
                    _earliestExpiry = hold.ExpiresAt;
                }
            }

            _earliestExpiryKnown = true;
        }

        return _earliestExpiry;
    }

    /// <summary>Forgets operation ids and closed holds older than the retention window (once a minute at most; the
    /// count bound holds at every record).</summary>
    public void Prune(DateTimeOffset now)
    {
        if (now - State.LastPrunedAt < PruneInterval)
        {
            return;
        }

        var horizon = now - _rules.Spaces.OperationIdRetention;
        _operations.Prune(horizon, _rules.Spaces.MaxRememberedOperations);
        _closedHolds.Prune(horizon, _rules.Spaces.MaxRememberedOperations);
        State.LastPrunedAt = now;
    }

    /// <summary>The operation ids and closed holds recorded by the last <paramref name="events"/> events: what a
    /// snapshot keeps.</summary>
    public (Dictionary<string, OperationRecord> Operations, Dictionary<string, ClosedHold> ClosedHolds) RecentWindow(int events) =>
        RecentWindow(State.Sequence, events);

    /// <summary>The same, as of event <paramref name="throughSequence"/>: what a snapshot of the durable state keeps, read
    /// from a pool that may be ahead of it (later ids are left out). Read from the newest backwards, so that it costs
    /// what it returns on a busy Space.</summary>
    public (Dictionary<string, OperationRecord> Operations, Dictionary<string, ClosedHold> ClosedHolds) RecentWindow(long throughSequence, int events) =>
        (_operations.Recent(throughSequence, events),
         _closedHolds.Recent(throughSequence, events).ToDictionary(h => h.Id, h => new ClosedHold(h.Value, h.At, h.Sequence), StringComparer.Ordinal));

    // ---- Helpers ---------------------------------------------------------------------------------------------

    private Outcome<TResult> Run<TResult>(DateTimeOffset now, Func<DateTimeOffset, Decision<TResult>> decide, string? operationId)
        where TResult : OperationResult
    {
        // The Space's clock never runs backwards, whatever the caller's clock says.
        now = Max(now, State.LastEventAt);
        var events = new List<SpaceEvent>();
        AdvanceInto(now, events);
        var decision = decide(now);
        if (decision.Immediate is { } immediate)
        {
            return new Outcome<TResult>(immediate, events);
        }

        foreach (var e in decision.Events)
        {
            Emit(e, events);
        }

        // Applying the decision recorded its outcome under the operation id.
        var result = _lastRecordedId == operationId ? _lastRecorded! : (_operations.TryGet(operationId!, out var record) ? record.Result : null);
        return new Outcome<TResult>((TResult)result!, events);
    }

    private long Available() => Math.Max(0, State.Allowance - State.Used - State.Held);

    /// <summary>used ≥ percent % of allowance, exactly: both products in 128 bits (100 × an allowance of 10^18 does not
    /// fit a long; wrapped, a huge Space crossed every threshold with its first credit). Two multiplications.</summary>
    private static bool Reached(long used, int percent, long allowance) => Math.BigMul(used, 100L) >= Math.BigMul(allowance, (long)percent);

    private long Next(int offset) => State.Sequence + offset;

    private int OwnerCount() => State.Members.Values.Count(r => r == SpaceRole.Owner);

    private PlanCatalogVersion CurrentCatalog() =>
        _rules.Plans.Versions.FirstOrDefault(v => v.Version == State.CatalogVersion) ?? _rules.Plans.VersionAt(State.CycleStart);

    private TResult? Replay<TResult>(string operationId, ulong fingerprint)
        where TResult : OperationResult
    {
        if (!_operations.TryGet(operationId, out var record))
        {
            return null;
        }

        if (record.Fingerprint == fingerprint && record.Result is TResult first)
        {
            return first with { Replayed = true };
        }

        return Reject<TResult>(new Rejection(RejectionCode.OperationIdReused, $"Operation id '{operationId}' was already used with other parameters."));
    }

    private TResult? NotFound<TResult>()
        where TResult : OperationResult =>
        State.Created ? null : Reject<TResult>(new Rejection(RejectionCode.SpaceNotFound, $"Space '{SpaceId}' does not exist."));

    private Rejection? Authorize(string actorUserId, SpaceRole atLeast)
    {
        if (!State.Members.TryGetValue(actorUserId, out var role))
        {
            return new Rejection(RejectionCode.NotAMember, $"User '{actorUserId}' is not a member of Space '{SpaceId}'.");
        }

        return role >= atLeast ? null : new Rejection(RejectionCode.NotAuthorized, $"User '{actorUserId}' is {role}; this needs {atLeast}.");
    }

    private Rejection? CheckPlan(PlanTier plan, long? customAllowance)
    {
        if (!Enum.IsDefined(plan))
        {
            return InvalidRejection($"Unknown plan {(int)plan}.");
        }

        if (plan == PlanTier.Enterprise)
        {
            return customAllowance is null || customAllowance < 1 || customAllowance > _rules.Spaces.MaxCustomAllowance
                ? InvalidRejection($"An Enterprise plan needs a custom allowance between 1 and {_rules.Spaces.MaxCustomAllowance}.")
                : null;
        }

        return customAllowance is null ? null : InvalidRejection("Only an Enterprise plan takes a custom allowance.");
    }

    private Rejection? CheckId(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return InvalidRejection($"{name} is empty.");
        }

        if (value.Length > _rules.Spaces.MaxIdLength)
        {
            return InvalidRejection($"{name} is longer than {_rules.Spaces.MaxIdLength} characters.");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return InvalidRejection($"{name} contains a control character.");
            }
        }

        return null;
    }

    private Rejection? CheckItemList(IReadOnlyList<int> items)
    {
        if (items.Count == 0 || items.Count > _rules.Spaces.MaxBatchItems)
        {
            return InvalidRejection($"Items must name between 1 and {_rules.Spaces.MaxBatchItems} items, or be null for all pending items.");
        }

        var seen = new HashSet<int>();
        foreach (var index in items)
        {
            if (index < 0)
            {
                return InvalidRejection($"Item index {index} is negative.");
            }

            if (!seen.Add(index))
            {
                return InvalidRejection($"Item {index} is named twice.");
            }
        }

        return null;
    }

    private static Rejection InvalidRejection(string message) => new(RejectionCode.InvalidRequest, message);

    private static TResult Invalid<TResult>(string message)
        where TResult : OperationResult => Reject<TResult>(InvalidRejection(message));

    private static TResult Reject<TResult>(Rejection rejection)
        where TResult : OperationResult
    {
        OperationResult result = typeof(TResult) switch
        {
            var t when t == typeof(ReserveResult) => ReserveResult.Rejected(rejection),
            var t when t == typeof(SettleResult) => SettleResult.Rejected("", rejection),
            _ => CommandResult.Rejected(rejection),
        };
        return (TResult)result;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;
}
