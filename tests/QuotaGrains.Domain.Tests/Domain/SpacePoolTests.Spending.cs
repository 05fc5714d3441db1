using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>Reserve, commit, refund, replay and hold expiry.</summary>
public sealed partial class SpacePoolTests
{
    [Fact]
    public void Reserve_commit_and_refund_move_credits_between_held_and_used()
    {
        CreateTeamSpace();

        var reserve = Reserve("r1", RecolorHd, 3, "member");
        var reserved = Ok(reserve);
        Assert.Equal("r1", reserved.HoldId);
        Assert.Equal(3, reserved.Items);
        Assert.Equal(8, reserved.UnitCredits);
        Assert.Equal(24, reserved.Credits);
        Assert.Equal(T0 + Ttl, reserved.ExpiresAt);
        Assert.Equal(476, reserved.Available);
        Assert.False(reserved.IsFree);
        var reservedEvent = Assert.IsType<CreditsReserved>(Assert.Single(reserve.Events));
        Assert.Equal(
            new CreditsReserved(4, T0, "r1", reservedEvent.Fingerprint, "member", RecolorHd, 3, 8, T0 + Ttl),
            reservedEvent);
        Assert.Equal((0L, 24L, 476L), (State.Used, State.Held, Available));

        Now = T0.AddMinutes(1);
        var commit = Commit("c1", "r1", [0, 2], "member");
        var committed = Ok(commit);
        Assert.Equal(new SettleResult { HoldId = "r1", CommittedCredits = 16, RefundedCredits = 0, ItemsSettled = 2, ItemsPending = 1 }, committed);
        var committedEvent = Assert.IsType<HoldCommitted>(Assert.Single(commit.Events));
        Assert.Equal(5, committedEvent.Sequence);
        Assert.Equal([0, 2], committedEvent.Items!);
        Assert.Equal(16, committedEvent.Credits);
        Assert.Equal((16L, 8L, 476L), (State.Used, State.Held, Available));

        var refund = Refund("f1", "r1", [1], "member");
        var refunded = Ok(refund);
        Assert.Equal(new SettleResult { HoldId = "r1", CommittedCredits = 0, RefundedCredits = 8, ItemsSettled = 1, ItemsPending = 0 }, refunded);
        var refundedEvent = Assert.IsType<HoldRefunded>(Assert.Single(refund.Events));
        Assert.Equal([1], refundedEvent.Items!);
        Assert.Equal(8, refundedEvent.Credits);
        Assert.Equal((16L, 0L, 484L), (State.Used, State.Held, Available));

        Assert.Empty(State.Holds);
        Assert.Equal((false, Now), (ClosedHold("r1").Expired, ClosedHold("r1").At));
        Assert.Equal(16, State.CurrentUsage.Credits);
        Assert.Equal(2, State.CurrentUsage.Generations);
        Assert.Equal(new UsageTotals(16, 2), State.CurrentUsage.ByMember["member"]);
        Assert.Equal(new UsageTotals(16, 2), State.CurrentUsage.ByFeature["recolor"]);
        Assert.Equal(new UsageTotals(16, 2), State.CurrentUsage.ByMedia[MediaKind.Image]);
        var balance = Pool.Balance(Now)!;
        Assert.Equal((500L, 16L, 0L, 484L, 0), (balance.Allowance, balance.Used, balance.Held, balance.Available, balance.OpenHolds));
    }

    [Fact]
    public void Batch_items_settle_one_by_one_and_null_settles_the_rest()
    {
        CreateTeamSpace();
        Ok(Reserve("batch", Recolor, 5));
        Assert.Equal(20, State.Held);

        Assert.Equal(8, Ok(Commit("c1", "batch", [2, 0])).CommittedCredits);
        Assert.Equal(4, Ok(Refund("f1", "batch", [1])).RefundedCredits);

        var hold = State.Holds["batch"];
        Assert.Equal(
            [HoldItemStatus.Committed, HoldItemStatus.Refunded, HoldItemStatus.Committed, HoldItemStatus.Pending, HoldItemStatus.Pending],
            hold.Items);
        Assert.Equal(2, hold.Pending);
        Assert.Equal((8L, 8L), (State.Used, State.Held));

        var rest = Commit("c2", "batch");
        var committed = Ok(rest);
        Assert.Equal(new SettleResult { HoldId = "batch", CommittedCredits = 8, ItemsSettled = 2, ItemsPending = 0 }, committed);
        Assert.Null(Assert.IsType<HoldCommitted>(Assert.Single(rest.Events)).Items);
        Assert.Equal((16L, 0L), (State.Used, State.Held));
        Assert.Empty(State.Holds);
        Assert.Equal(
            [HoldItemStatus.Committed, HoldItemStatus.Refunded, HoldItemStatus.Committed, HoldItemStatus.Committed, HoldItemStatus.Committed],
            hold.Items);
        Assert.Equal(4, State.CurrentUsage.Generations);
    }

    [Fact]
    public void Refund_of_every_pending_item_costs_nothing()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", RecolorHd, 4));
        Ok(Commit("c1", "r1", [3]));

        var refunded = Ok(Refund("f1", "r1"));

        Assert.Equal(24, refunded.RefundedCredits);
        Assert.Equal(3, refunded.ItemsSettled);
        Assert.Equal((8L, 0L, 492L), (State.Used, State.Held, Available));
        Assert.Equal(1, State.CurrentUsage.Generations);
    }

    [Fact]
    public void Batch_reserve_is_all_or_nothing()
    {
        CreateTeamSpace(PlanTier.Free);

        var rejection = AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("r1", Recolor, 26)).Rejection!;
        Assert.Equal((100L, 104L), (rejection.Available!.Value, rejection.Required!.Value));
        Assert.Equal(0, State.Held);
        Assert.Empty(State.Holds);

        var reserved = Ok(Reserve("r2", Recolor, 25));
        Assert.Equal(100, reserved.Credits);
        Assert.Equal(0, reserved.Available);
        Assert.Equal(100, State.Held);
    }

    [Fact]
    public void Free_operation_succeeds_without_a_hold_and_changes_nothing()
    {
        CreateTeamSpace(PlanTier.Free);
        Spend("s1", 100);
        var before = Snap();

        var outcome = Reserve("free-1", WhiteBackground, 5, "member");

        Assert.True(outcome.Result.Succeeded);
        Assert.True(outcome.Result.IsFree);
        Assert.Null(outcome.Result.HoldId);
        Assert.Equal(5, outcome.Result.Items);
        Assert.Equal(0, outcome.Result.Credits);
        Assert.Equal(0, outcome.Result.UnitCredits);
        Assert.Null(outcome.Result.ExpiresAt);
        Assert.Equal(0, outcome.Result.Available);
        Assert.Empty(outcome.Events);
        Assert.Equal(before, Snap());

        Assert.True(Reserve("free-2", new GenerationSpec("background-removal", MediaKind.Video, ResolutionTier.FourK), 1000).Result.IsFree);
        Assert.Equal(before, Snap());
    }

    [Fact]
    public void Replayed_reserve_returns_the_first_outcome_and_holds_once()
    {
        CreateTeamSpace();
        var first = Ok(Reserve("r1", Recolor, 2));
        Ok(Reserve("r2", Shadows, 10));
        var snapshot = Snap();
        Now = T0.AddMinutes(3);

        var again = Reserve("r1", Recolor, 2);

        Assert.Equal(first with { Replayed = true }, again.Result);
        Assert.Equal(T0 + Ttl, again.Result.ExpiresAt);
        Assert.Empty(again.Events);
        Assert.Equal(snapshot, Snap());
        Assert.Equal(18, State.Held);
    }

    [Fact]
    public void Replayed_commit_and_refund_return_the_first_outcome_and_charge_once()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Recolor, 3));
        var commit = Ok(Commit("c1", "r1", [0]));
        var refund = Ok(Refund("f1", "r1", [1]));
        var snapshot = Snap();

        var commitAgain = Commit("c1", "r1", [0]);
        var refundAgain = Refund("f1", "r1", [1]);

        Assert.Equal(commit with { Replayed = true }, commitAgain.Result);
        Assert.Equal(refund with { Replayed = true }, refundAgain.Result);
        Assert.Empty(commitAgain.Events);
        Assert.Empty(refundAgain.Events);
        Assert.Equal(snapshot, Snap());
        Assert.Equal((4L, 4L), (State.Used, State.Held));

        // Still a replay once the hold is closed, and once it has expired.
        Ok(Commit("c2", "r1"));
        Assert.True(Commit("c2", "r1").Result.Replayed);
        Assert.Equal(8, State.Used);
        Ok(Reserve("r2", Shadows, 4));
        Ok(Commit("c3", "r2", [0]));
        AdvanceTo(T0 + Ttl);
        Assert.True(Commit("c3", "r2", [0]).Result.Replayed);
        Assert.True(Reserve("r2", Shadows, 4).Result.Replayed);
        Assert.Equal((9L, 0L), (State.Used, State.Held));
        Assert.Equal(9, State.CurrentUsage.Credits);
    }

    [Fact]
    public void Operation_ids_and_closed_holds_are_remembered_for_the_retention_window()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Shadows, 2));
        Now = T0.AddMinutes(1);
        Ok(Commit("c1", "r1"));

        // The reserve (at T0) is forgotten after 24 h, but its hold (closed at T0 + 1 min) is still remembered:
        // the id cannot name a new hold yet, and the commit still replays.
        AdvanceTo(T0.AddHours(24).AddSeconds(30));
        Assert.False(Pool.Operations.Contains("r1"));
        Assert.True(Pool.ClosedHolds.Contains("r1"));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r1", Shadows, 2));
        Assert.True(Commit("c1", "r1").Result.Replayed);

        // Once both are forgotten the id is free again.
        AdvanceTo(T0.AddHours(24).AddMinutes(2));
        Assert.Equal(0, Pool.Operations.Count);
        Assert.Equal(0, Pool.ClosedHolds.Count);
        Assert.Equal(2, Ok(Reserve("r1", Shadows, 2)).Credits);
    }

    [Fact]
    public void Hold_expires_exactly_after_the_ttl_and_returns_its_credits()
    {
        CreateTeamSpace();
        Now = T0.AddMinutes(1);
        Ok(Reserve("r1", Recolor, 3, "member"));
        Ok(Commit("c1", "r1", [1], "member"));
        var expiry = Now + Ttl;
        Assert.Equal(expiry, Pool.NextDueAt());

        Assert.Empty(AdvanceTo(expiry.AddTicks(-1)));
        Assert.Equal(8, State.Held);

        var expired = Assert.IsType<HoldExpired>(Assert.Single(AdvanceTo(expiry)));

        Assert.Equal(new HoldExpired(6, expiry, "r1", 2, 8), expired);
        Assert.Equal((4L, 0L, 496L), (State.Used, State.Held, Available));
        Assert.Empty(State.Holds);
        Assert.Equal((true, expiry), (ClosedHold("r1").Expired, ClosedHold("r1").At));
        Assert.Equal(Feb28, Pool.NextDueAt());
        Assert.Empty(AdvanceTo(expiry.AddHours(1)));
    }

    [Fact]
    public void Hold_expiry_found_by_a_later_command_happens_at_the_expiry_instant()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Shadows, 10));
        Now = T0.AddMinutes(5);
        Ok(Reserve("r2", Shadows, 20));
        Now = T0.AddHours(2);

        var outcome = Reserve("r3", Shadows, 1);

        Ok(outcome);
        Assert.Equal(3, outcome.Events.Count);
        Assert.Equal(new HoldExpired(6, T0 + Ttl, "r1", 10, 10), outcome.Events[0]);
        Assert.Equal(new HoldExpired(7, T0.AddMinutes(5) + Ttl, "r2", 20, 20), outcome.Events[1]);
        var reserved = Assert.IsType<CreditsReserved>(outcome.Events[2]);
        Assert.Equal((8L, Now), (reserved.Sequence, reserved.At));
        Assert.Equal(1, State.Held);
    }

    [Fact]
    public void The_clock_of_a_space_never_runs_backwards()
    {
        CreateTeamSpace();
        Now = T0.AddMinutes(10);
        Ok(Reserve("r1", Shadows));
        Now = T0;

        var late = Reserve("r2", Shadows);

        var reserved = Assert.IsType<CreditsReserved>(Assert.Single(late.Events));
        Assert.Equal(T0.AddMinutes(10), reserved.At);
        Assert.Equal(T0.AddMinutes(25), reserved.ExpiresAt);
    }

    [Fact]
    public void A_removed_member_still_settles_the_holds_they_opened_and_nobody_elses()
    {
        CreateTeamSpace();
        Ok(Reserve("m1", Recolor, 3, "member"));
        Ok(Reserve("m2", Shadows, 1, "member"));
        Ok(Reserve("m3", Shadows, 2, "member"));
        Ok(Reserve("a1", Shadows, 1, "admin"));
        Ok(RemoveMember("remove", "owner", "member"));
        Assert.False(State.Members.ContainsKey("member"));

        // Nobody else settles the removed member's holds, and the removed member settles nobody else's.
        AssertRejected(RejectionCode.HoldNotFound, () => Commit("c-other", "m1", [0], "admin"));
        AssertRejected(RejectionCode.HoldNotFound, () => Refund("f-other", "m1", null, "owner"));
        AssertRejected(RejectionCode.HoldNotFound, () => Commit("c-theirs", "a1", null, "member"));
        AssertRejected(RejectionCode.HoldNotFound, () => Refund("f-theirs", "a1", null, "member"));

        Assert.Equal(
            new SettleResult { HoldId = "m1", CommittedCredits = 8, ItemsSettled = 2, ItemsPending = 1 },
            Ok(Commit("m1-commit", "m1", [0, 2], "member")));
        Assert.Equal(
            new SettleResult { HoldId = "m1", RefundedCredits = 4, ItemsSettled = 1, ItemsPending = 0 },
            Ok(Refund("m1-refund", "m1", [1], "member")));
        Assert.Equal(
            new SettleResult { HoldId = "m2", RefundedCredits = 1, ItemsSettled = 1, ItemsPending = 0 },
            Ok(Refund("m2-refund", "m2", null, "member")));
        Assert.Equal((8L, 3L), (State.Used, State.Held));
        Assert.Equal(new UsageTotals(8, 2), State.CurrentUsage.ByMember["member"]);

        // A removed member still cannot reserve; the hold nobody settles expires as any other.
        AssertRejected(RejectionCode.NotAMember, () => Reserve("m4", Shadows, 1, "member"));
        var expired = AdvanceTo(T0 + Ttl);
        Assert.Equal(["a1", "m3"], expired.OfType<HoldExpired>().Select(x => x.HoldId).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal((8L, 0L), (State.Used, State.Held));
        AssertInvariant();
    }

    [Fact]
    public void Usage_thresholds_are_crossed_once_per_cycle()
    {
        Ok(Create(PlanTier.Free));
        Ok(Reserve("a", Shadows, 50));

        var first = Commit("a-commit", "a");
        Assert.Equal(2, first.Events.Count);
        Assert.Equal(new UsageThresholdCrossed(4, T0, 50, 50, 100), first.Events[1]);

        Ok(Reserve("b", Shadows, 29));
        Assert.IsType<HoldCommitted>(Assert.Single(Commit("b-commit", "b").Events));

        Ok(Reserve("c", Shadows, 1));
        var eighty = Commit("c-commit", "c");
        Assert.Equal(new UsageThresholdCrossed(9, T0, 80, 80, 100), eighty.Events[1]);

        // A replay emits nothing; holding credits crosses nothing.
        Assert.Empty(Commit("c-commit", "c").Events);
        Ok(Reserve("d", Shadows, 20));
        Assert.Equal(80, State.Used);
        Assert.Equal([50, 80], State.CurrentUsage.ThresholdsCrossed);

        var hundred = Commit("d-commit", "d");
        Assert.Equal(2, hundred.Events.Count);
        Assert.Equal(new UsageThresholdCrossed(12, T0, 100, 100, 100), hundred.Events[1]);

        // Next cycle: all three again, in one commit, numbered in order.
        AdvanceTo(Feb28);
        Ok(Reserve("e", Shadows, 100));
        var all = Commit("e-commit", "e");
        Assert.Equal(
            [typeof(HoldCommitted), typeof(UsageThresholdCrossed), typeof(UsageThresholdCrossed), typeof(UsageThresholdCrossed)],
            all.Events.Select(e => e.GetType()).ToArray());
        Assert.Equal([15L, 16L, 17L, 18L], all.Events.Select(e => e.Sequence).ToArray());
        Assert.Equal([50, 80, 100], all.Events.OfType<UsageThresholdCrossed>().Select(t => t.Percent).ToArray());

        Assert.Equal(6, State.Notifications.Count);
        Assert.Equal([T0, T0, T0, Feb28, Feb28, Feb28], State.Notifications.Select(n => n.CycleStart).ToArray());
        Assert.Equal([50, 80, 100, 50, 80, 100], State.Notifications.Select(n => n.Percent).ToArray());
        Assert.All(State.Notifications, n => Assert.Equal("space-1", n.SpaceId));
        Assert.Equal(6, Journal.OfType<UsageThresholdCrossed>().Count());
    }

    /// <summary>Allowances where percent × allowance or used × 100 does not fit a long: just above long.MaxValue / 100
    /// (a Space there used to cross 50, 80 and 100 % with its first credit), 10^17, and the largest accepted.</summary>
    public static TheoryData<long> HugeAllowances => new()
    {
        (long.MaxValue / 100) + 1,
        100_000_000_000_000_000,
        SpaceRulesOptions.MaxCustomAllowanceLimit,
    };

    [Theory]
    [MemberData(nameof(HugeAllowances))]
    public void A_first_credit_of_a_huge_allowance_crosses_no_threshold(long allowance)
    {
        var pool = HugePool(allowance, used: 0);

        Assert.True(pool.Reserve("owner", new ReserveRequest("r1", Shadows), T0).Result.Succeeded);
        var commit = pool.Commit("owner", new SettleRequest("c1", "r1"), T0);

        Assert.IsType<HoldCommitted>(Assert.Single(commit.Events));
        Assert.Empty(pool.State.CurrentUsage.ThresholdsCrossed);
    }

    [Theory]
    [MemberData(nameof(HugeAllowances))]
    public void Usage_thresholds_of_a_huge_allowance_are_crossed_at_the_exact_credit(long allowance)
    {
        // The first used amount at or above half the allowance: ⌈allowance / 2⌉.
        var half = (allowance / 2) + (allowance % 2);
        var pool = HugePool(allowance, used: half - 2);
        Assert.True(pool.Reserve("owner", new ReserveRequest("r1", Shadows, 2), T0).Result.Succeeded);

        var below = pool.Commit("owner", new SettleRequest("c1", "r1", [0]), T0);
        var at = pool.Commit("owner", new SettleRequest("c2", "r1", [1]), T0);

        Assert.IsType<HoldCommitted>(Assert.Single(below.Events));
        Assert.Equal(new UsageThresholdCrossed(pool.State.Sequence, T0, 50, half, allowance), at.Events[1]);
        Assert.Equal(2, at.Events.Count);

        // 80 % with the credit before the last; 100 % only with the last one.
        var full = HugePool(allowance, used: allowance - 2);
        Assert.True(full.Reserve("owner", new ReserveRequest("r1", Shadows, 2), T0).Result.Succeeded);

        var almost = full.Commit("owner", new SettleRequest("c1", "r1", [0]), T0);
        var last = full.Commit("owner", new SettleRequest("c2", "r1", [1]), T0);

        Assert.Equal([50, 80], almost.Events.OfType<UsageThresholdCrossed>().Select(t => t.Percent).ToArray());
        Assert.Equal(new UsageThresholdCrossed(full.State.Sequence, T0, 100, allowance, allowance), Assert.Single(last.Events.OfType<UsageThresholdCrossed>()));
        Assert.Equal((allowance, 0L), (full.State.Used, full.State.Held));
    }

    /// <summary>An Enterprise Space of <paramref name="allowance"/> credits (the options at their limit) whose cycle has
    /// used <paramref name="used"/>: a legacy Space merged into one pool, the one way to get there without spending it.</summary>
    private static SpacePool HugePool(long allowance, long used)
    {
        var rules = new QuotaRules(PriceBook.Default, PlanCatalog.Default, new SpaceRulesOptions { MaxCustomAllowance = SpaceRulesOptions.MaxCustomAllowanceLimit });
        var pool = new SpacePool("space-1", new SpaceState(), rules);
        var created = pool.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Enterprise, CustomAllowance: allowance), T0).Result;
        Assert.True(created.Succeeded, created.Rejection?.ToString());
        pool.State.LegacyPools = new LegacyPools { ImageAllowance = allowance, ImageUsed = used };
        Assert.Single(pool.MigrateLegacyPools(T0));
        Assert.Equal((allowance, used), (pool.State.Allowance, pool.State.Used));
        return pool;
    }

    [Fact]
    public void Usage_threshold_is_not_crossed_again_after_an_upgrade()
    {
        CreateTeamSpace(PlanTier.Pro);
        Spend("s1", 250);
        Assert.Equal([50], State.CurrentUsage.ThresholdsCrossed);

        Ok(Reserve("s2", Shadows, 10));
        Assert.IsType<HoldCommitted>(Assert.Single(Commit("s2-commit", "s2").Events));
        Assert.Equal([50], State.CurrentUsage.ThresholdsCrossed);

        Ok(ChangePlan("up", "owner", PlanTier.Max));
        Spend("s3", 490);
        Assert.Equal(750, State.Used);
        Assert.Equal([50], State.CurrentUsage.ThresholdsCrossed);
        Assert.Single(State.Notifications);
    }
}
