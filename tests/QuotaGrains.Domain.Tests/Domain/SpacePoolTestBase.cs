using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>A Space pool under test, with a clock the test moves by hand and a journal of every event it produced.</summary>
public abstract class SpacePoolTestBase
{
    protected static readonly DateTimeOffset T0 = new(2025, 1, 31, 10, 0, 0, TimeSpan.Zero);
    protected static readonly DateTimeOffset Feb28 = new(2025, 2, 28, 10, 0, 0, TimeSpan.Zero);
    protected static readonly DateTimeOffset Mar31 = new(2025, 3, 31, 10, 0, 0, TimeSpan.Zero);
    protected static readonly DateTimeOffset Apr30 = new(2025, 4, 30, 10, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Ttl = TimeSpan.FromMinutes(15);

    /// <summary>1 credit.</summary>
    protected static readonly GenerationSpec Shadows = new("ai-shadows");

    /// <summary>4 credits.</summary>
    protected static readonly GenerationSpec Recolor = new("recolor");

    /// <summary>8 credits.</summary>
    protected static readonly GenerationSpec RecolorHd = new("recolor", MediaKind.Image, ResolutionTier.Hd);

    /// <summary>Free.</summary>
    protected static readonly GenerationSpec WhiteBackground = new("white-background");

    private readonly List<SpaceEvent> _journal = [];

    protected SpacePoolTestBase()
    {
        Pool = new SpacePool("space-1", new SpaceState(), QuotaRules.Default);
    }

    protected SpacePool Pool { get; }

    protected SpaceState State => Pool.State;

    protected ClosedHold ClosedHold(string holdId) =>
        Pool.ClosedHolds.TryGet(holdId, out var sequence, out var at, out var expired) ? new ClosedHold(expired, at, sequence) : throw new KeyNotFoundException(holdId);

    /// <summary>The instant the next call happens at.</summary>
    protected DateTimeOffset Now { get; set; } = T0;

    /// <summary>Every event of every call, in order.</summary>
    protected IReadOnlyList<SpaceEvent> Journal => _journal;

    protected long Available => State.Allowance - State.Used - State.Held;

    // ---- Calls ---------------------------------------------------------------------------------------------

    protected Outcome<CommandResult> Create(
        PlanTier plan,
        BillingCadence cadence = BillingCadence.Monthly,
        long? custom = null,
        DateTimeOffset? subscribedAt = null,
        string operationId = "create-1",
        string owner = "owner") =>
        Track(Pool.Create(new CreateSpaceRequest(operationId, owner, plan, cadence, subscribedAt, custom), Now));

    /// <summary>A Space created at <see cref="T0"/> (anchor T0) with an owner, an admin and a member: sequence 3.</summary>
    protected void CreateTeamSpace(PlanTier plan = PlanTier.Pro, BillingCadence cadence = BillingCadence.Monthly, long? custom = null)
    {
        Now = T0;
        Ok(Create(plan, cadence, custom, T0));
        Ok(AddMember("add-admin", "owner", "admin", SpaceRole.Admin));
        Ok(AddMember("add-member", "owner", "member", SpaceRole.Member));
    }

    protected Outcome<CommandResult> AddMember(string operationId, string actor, string user, SpaceRole role) =>
        Track(Pool.AddMember(new AddMemberRequest(operationId, actor, user, role), Now));

    protected Outcome<CommandResult> RemoveMember(string operationId, string actor, string user) =>
        Track(Pool.RemoveMember(new RemoveMemberRequest(operationId, actor, user), Now));

    protected Outcome<CommandResult> ChangePlan(string operationId, string actor, PlanTier plan, long? custom = null) =>
        Track(Pool.ChangePlan(new ChangePlanRequest(operationId, actor, plan, custom), Now));

    protected Outcome<ReserveResult> Reserve(string operationId, GenerationSpec spec, int count = 1, string user = "owner") =>
        Track(Pool.Reserve(user, new ReserveRequest(operationId, spec, count), Now));

    protected Outcome<SettleResult> Commit(string operationId, string holdId, int[]? items = null, string user = "owner") =>
        Track(Pool.Commit(user, new SettleRequest(operationId, holdId, items), Now));

    protected Outcome<SettleResult> Refund(string operationId, string holdId, int[]? items = null, string user = "owner") =>
        Track(Pool.Refund(user, new SettleRequest(operationId, holdId, items), Now));

    protected IReadOnlyList<SpaceEvent> AdvanceTo(DateTimeOffset instant)
    {
        Now = instant;
        var events = Pool.AdvanceTo(instant);
        _journal.AddRange(events);
        return events;
    }

    /// <summary>Reserves and commits <paramref name="credits"/> credits of AI Shadows (1 credit each).</summary>
    protected void Spend(string name, int credits, string user = "owner")
    {
        Ok(Reserve(name, Shadows, credits, user));
        Ok(Commit(name + "-commit", name, null, user));
    }

    /// <summary>The renewal event expected at <paramref name="at"/>; by default monthly, anchored at <see cref="T0"/>.</summary>
    protected static CycleRenewed Renewed(
        long sequence,
        DateTimeOffset at,
        PlanTier plan,
        long allowance,
        DateTimeOffset nextRenewal,
        long carriedHeld,
        int catalogVersion = 1,
        long? custom = null,
        BillingCadence cadence = BillingCadence.Monthly,
        DateTimeOffset? anchor = null) =>
        new(sequence, at, plan, custom, catalogVersion, allowance, nextRenewal, carriedHeld, cadence, anchor ?? T0);

    // ---- Assertions ----------------------------------------------------------------------------------------

    protected static TResult Ok<TResult>(Outcome<TResult> outcome)
        where TResult : OperationResult
    {
        Assert.True(outcome.Result.Succeeded, outcome.Result.Rejection?.ToString());
        Assert.False(outcome.Result.Replayed);
        return outcome.Result;
    }

    /// <summary>Runs <paramref name="act"/>, asserts it was rejected with <paramref name="code"/>, applied no event and
    /// changed nothing; except that the cycle's first refusal for insufficient credits records a
    /// <see cref="PoolExhausted"/> (and its notification), nothing else.</summary>
    protected TResult AssertRejected<TResult>(RejectionCode code, Func<Outcome<TResult>> act)
        where TResult : OperationResult
    {
        var before = Snap();
        var firstExhaustion = code == RejectionCode.InsufficientCredits && !State.CurrentUsage.Exhausted;
        var outcome = act();
        Assert.NotNull(outcome.Result.Rejection);
        Assert.Equal(code, outcome.Result.Rejection.Code);
        Assert.False(outcome.Result.Succeeded);
        Assert.False(outcome.Result.Replayed);
        if (firstExhaustion)
        {
            var exhausted = Assert.IsType<PoolExhausted>(Assert.Single(outcome.Events));
            var at = Now > before.LastEventAt ? Now : before.LastEventAt;
            Assert.Equal(
                new PoolExhausted(before.Sequence + 1, at, outcome.Result.Rejection.Available!.Value, outcome.Result.Rejection.Required!.Value, before.Used, before.Allowance),
                exhausted);
            before = before with { Sequence = before.Sequence + 1, LastEventAt = at, RecentNotifications = Math.Min(before.RecentNotifications + 1, SpacePool.MaxRecentNotifications) };
        }
        else
        {
            Assert.Empty(outcome.Events);
        }

        Assert.Equal(before, Snap());
        return outcome.Result;
    }

    protected void AssertInvariant()
    {
        Assert.True(State.Used >= 0, $"used {State.Used} < 0");
        Assert.True(State.Held >= 0, $"held {State.Held} < 0");
        Assert.True(
            State.Used + State.Held <= State.Allowance,
            $"used {State.Used} + held {State.Held} > allowance {State.Allowance}");
        Assert.Equal(State.Holds.Values.Sum(h => h.PendingCredits), State.Held);
    }

    protected Snapshot Snap() => new(
        State.Created,
        State.Sequence,
        State.Used,
        State.Held,
        State.Allowance,
        State.Holds.Count,
        State.Plan,
        State.PendingPlan,
        State.CycleStart,
        State.NextRenewal,
        State.LastEventAt,
        string.Join(",", State.Members.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}:{m.Value}")),
        string.Join(";", State.Holds.OrderBy(h => h.Key, StringComparer.Ordinal)
            .Select(h => $"{h.Key}:{h.Value.Pending}:{string.Concat(h.Value.Items.Select(i => (int)i))}")),
        Pool.Operations.Count,
        Pool.ClosedHolds.Count,
        State.CurrentUsage.Credits,
        State.CurrentUsage.ThresholdsCrossed.Count,
        State.Notifications.Count,
        State.RecentNotifications.Count);

    private Outcome<TResult> Track<TResult>(Outcome<TResult> outcome)
        where TResult : OperationResult
    {
        _journal.AddRange(outcome.Events);
        return outcome;
    }

    protected sealed record Snapshot(
        bool Created,
        long Sequence,
        long Used,
        long Held,
        long Allowance,
        int OpenHolds,
        PlanTier Plan,
        PlanTier? PendingPlan,
        DateTimeOffset CycleStart,
        DateTimeOffset NextRenewal,
        DateTimeOffset LastEventAt,
        string Members,
        string Holds,
        int Operations,
        int ClosedHolds,
        long CycleCredits,
        int ThresholdsCrossed,
        int Notifications,
        int RecentNotifications);
}
