namespace QuotaGrains.Domain.Spaces;

/// <summary>What a command decided: either events to apply, or a result that changes nothing
/// (a rejection, a replay of an earlier outcome, a free operation); a refusal may also carry an event that records it
/// (the cycle's first insufficient-credits refusal: <see cref="PoolExhausted"/>).</summary>
internal readonly record struct Decision<TResult>(IReadOnlyList<SpaceEvent> Events, TResult? Immediate)
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
/// <remarks>
/// By topic: the commands and their run here; request checks in <c>SpacePool.Checks</c> (the fields' own rules in
/// <see cref="RequestChecks"/>); <c>.Membership</c>, <c>.Plans</c> and <c>.Spending</c> decide; <c>.Apply</c> changes
/// the state; <c>.Time</c> advances it (expiries, renewals). What the pool remembers of its operations, for retries,
/// is its <see cref="OperationMemory"/>.
/// </remarks>
public sealed partial class SpacePool
{
    private readonly QuotaRules _rules;
    private readonly OperationMemory _memory;

    // The earliest expiry of an open hold: found when asked, then kept as holds open and close (SpacePool.Time).
    private DateTimeOffset? _earliestExpiry;
    private bool _earliestExpiryKnown;

    public SpacePool(string spaceId, SpaceState state, QuotaRules rules)
        : this(spaceId, state, rules, OperationMemory.From(state, rules.Spaces))
    {
    }

    private SpacePool(string spaceId, SpaceState state, QuotaRules rules, OperationMemory memory)
    {
        SpaceId = spaceId;
        State = state;
        _rules = rules;
        _memory = memory;

        // A snapshot carries its ids and closed holds in State; the pool keeps them in its memory, and only there.
        state.Operations.Clear();
        state.ClosedHolds.Clear();
    }

    public SpaceState State { get; }

    private string SpaceId { get; }

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

    /// <summary>The pool as it stands (call <see cref="AdvanceTo"/> first to see it as of an instant).</summary>
    public SpaceBalance? Balance(DateTimeOffset asOf) => !State.Created ? null : new SpaceBalance(
        SpaceId, State.Plan, State.PendingPlan, State.Allowance, State.Used, State.Held, State.CycleStart,
        State.NextRenewal, State.CatalogVersion, State.Holds.Count, State.Members.Count, asOf);

    public IReadOnlyList<CycleUsage> Usage() =>
        [State.CurrentUsage.ToView(State.CycleStart, State.NextRenewal, State.Allowance), .. State.History];

    // ---- Operation memory ------------------------------------------------------------------------------------

    /// <summary>The operation ids this pool remembers, with their first outcomes.</summary>
    internal OperationWindow Operations => _memory.Operations;

    /// <summary>The holds this pool closed (settled or expired) within the retention window, to tell "expired" from
    /// "never existed"; the value says expired.</summary>
    internal IdRing<bool> ClosedHolds => _memory.ClosedHolds;

    /// <summary>False once <see cref="ForgetOperationWindow"/> was called: applying events then keeps balances, holds,
    /// members and usage but no operation ids or closed holds. For a shadow copy whose window another pool already
    /// holds (the grain's durable copy, which the live pool is ahead of), so that each id is kept once.</summary>
    internal bool KeepsOperationWindow => _memory.Remembers;

    /// <summary>A pool over <paramref name="state"/> (a copy of this pool's state) that takes over this pool's
    /// operation window; this one keeps none from then on (see <see cref="ForgetOperationWindow"/>).</summary>
    public SpacePool HandOverOperationWindow(SpaceState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new SpacePool(SpaceId, state, _rules, _memory.HandOver());
    }

    /// <summary>Drops the operation ids and closed holds and keeps none from now on (see <see cref="KeepsOperationWindow"/>).
    /// Such a pool must not decide requests: it could not recognize a retry.</summary>
    public void ForgetOperationWindow() => _memory.Forget();

    /// <summary>The operation ids and closed holds recorded by the last <paramref name="events"/> events: what a
    /// snapshot keeps.</summary>
    internal (Dictionary<string, OperationRecord> Operations, Dictionary<string, ClosedHold> ClosedHolds) RecentWindow(int events) =>
        RecentWindow(State.Sequence, events);

    /// <summary>The same, as of event <paramref name="throughSequence"/>: what a snapshot of the durable state keeps, read
    /// from a pool that may be ahead of it (later ids are left out).</summary>
    public (Dictionary<string, OperationRecord> Operations, Dictionary<string, ClosedHold> ClosedHolds) RecentWindow(long throughSequence, int events) =>
        _memory.Recent(throughSequence, events);

    // ---- Running a command ------------------------------------------------------------------------------------

    private Outcome<TResult> Run<TResult>(DateTimeOffset now, Func<DateTimeOffset, Decision<TResult>> decide, string? operationId)
        where TResult : OperationResult
    {
        // The Space's clock never runs backwards, whatever the caller's clock says.
        now = Max(now, State.LastEventAt);
        var events = new List<SpaceEvent>();
        AdvanceInto(now, events);
        var decision = decide(now);
        foreach (var e in decision.Events)
        {
            Emit(e, events);
        }

        if (decision.Immediate is { } immediate)
        {
            // A refusal that records something (the cycle's first PoolExhausted) answers as it would without it.
            return new Outcome<TResult>(immediate, events);
        }

        // Applying the decision recorded its outcome under the operation id.
        return new Outcome<TResult>((TResult)_memory.OutcomeOf(operationId)!, events);
    }

    private void Emit(SpaceEvent e, List<SpaceEvent> events)
    {
        Apply(e);
        events.Add(e);
    }

    private long Next(int offset) => State.Sequence + offset;

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a >= b ? a : b;
}
