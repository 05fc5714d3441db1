using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>Creation, membership and plan changes.</summary>
public sealed partial class SpacePoolTests : SpacePoolTestBase
{
    [Fact]
    public void Create_makes_the_owner_a_member_and_sets_the_pool()
    {
        var outcome = Create(PlanTier.Pro, subscribedAt: T0);

        Assert.Equal(CommandResult.Ok, Ok(outcome));
        var created = Assert.IsType<SpaceCreated>(Assert.Single(outcome.Events));
        Assert.Equal(
            new SpaceCreated(1, T0, "create-1", created.Fingerprint, "owner", PlanTier.Pro, null, BillingCadence.Monthly, T0, 1, 500, T0, Feb28),
            created);
        Assert.True(State.Created);
        Assert.Equal("owner", State.OwnerUserId);
        Assert.Equal(SpaceRole.Owner, Assert.Single(State.Members, m => m.Key == "owner").Value);
        Assert.Single(State.Members);
        Assert.Equal(1, State.Sequence);
        Assert.Equal(PlanTier.Pro, State.Plan);
        Assert.Equal(500, State.Allowance);
        Assert.Equal(0, State.Used);
        Assert.Equal(0, State.Held);
        Assert.Equal(T0, State.Anchor);
        Assert.Equal(T0, State.CycleStart);
        Assert.Equal(Feb28, State.NextRenewal);

        var balance = Pool.Balance(Now)!;
        Assert.Equal(500, balance.Available);
        Assert.Equal(1, balance.Members);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Theory]
    [InlineData(PlanTier.Free, null, 100)]
    [InlineData(PlanTier.Pro, null, 500)]
    [InlineData(PlanTier.Max, null, 1500)]
    [InlineData(PlanTier.Ultra, null, 2550)]
    [InlineData(PlanTier.Enterprise, 7777L, 7777)]
    public void Create_sets_the_allowance_of_the_plan(PlanTier plan, long? custom, long expected)
    {
        Ok(Create(plan, custom: custom));

        Assert.Equal(expected, State.Allowance);
        Assert.Equal(plan, State.Plan);
        Assert.Equal(custom, State.CustomAllowance);
        Assert.Equal(expected, Pool.Balance(Now)!.Available);
    }

    [Fact]
    public void Free_space_renews_monthly_from_its_creation_instant()
    {
        var creation = new DateTimeOffset(2025, 3, 15, 8, 30, 45, TimeSpan.Zero).AddTicks(2_500_000);
        var anchor = new DateTimeOffset(2025, 3, 15, 8, 30, 45, TimeSpan.Zero);
        var april = new DateTimeOffset(2025, 4, 15, 8, 30, 45, TimeSpan.Zero);
        var may = new DateTimeOffset(2025, 5, 15, 8, 30, 45, TimeSpan.Zero);
        Now = creation;

        // The cadence and subscription instant asked for are ignored for Free.
        Ok(Create(PlanTier.Free, BillingCadence.Weekly, subscribedAt: creation.AddDays(-20)));

        Assert.Equal(BillingCadence.Monthly, State.Cadence);
        Assert.Equal(anchor, State.Anchor);
        Assert.Equal(anchor, State.CycleStart);
        Assert.Equal(april, State.NextRenewal);
        Assert.Empty(AdvanceTo(april.AddTicks(-1)));
        var renewed = Assert.IsType<CycleRenewed>(Assert.Single(AdvanceTo(april)));
        Assert.Equal(Renewed(2, april, PlanTier.Free, 100, may, 0, anchor: anchor), renewed);
    }

    [Fact]
    public void Weekly_space_subscribed_in_the_past_starts_in_the_cycle_containing_now()
    {
        var subscribed = new DateTimeOffset(2025, 1, 21, 2, 11, 7, 900, TimeSpan.Zero);

        Ok(Create(PlanTier.Pro, BillingCadence.Weekly, subscribedAt: subscribed));

        Assert.Equal(BillingCadence.Weekly, State.Cadence);
        Assert.Equal(new DateTimeOffset(2025, 1, 21, 2, 11, 7, TimeSpan.Zero), State.Anchor);
        Assert.Equal(new DateTimeOffset(2025, 1, 28, 2, 11, 7, TimeSpan.Zero), State.CycleStart);
        Assert.Equal(new DateTimeOffset(2025, 2, 4, 2, 11, 7, TimeSpan.Zero), State.NextRenewal);
    }

    [Fact]
    public void Monthly_space_subscribed_in_the_past_keeps_the_subscription_time_of_day()
    {
        Ok(Create(PlanTier.Max, subscribedAt: new DateTimeOffset(2024, 12, 31, 2, 11, 7, TimeSpan.Zero)));

        Assert.Equal(new DateTimeOffset(2025, 1, 31, 2, 11, 7, TimeSpan.Zero), State.CycleStart);
        Assert.Equal(new DateTimeOffset(2025, 2, 28, 2, 11, 7, TimeSpan.Zero), State.NextRenewal);
    }

    [Fact]
    public void Create_twice_with_the_same_operation_id_replays()
    {
        Ok(Create(PlanTier.Pro, subscribedAt: T0));
        Now = T0.AddMinutes(5);

        var again = Create(PlanTier.Pro, subscribedAt: T0);

        Assert.True(again.Result.Succeeded);
        Assert.True(again.Result.Replayed);
        Assert.Empty(again.Events);
        Assert.Equal(1, State.Sequence);
        Assert.Single(State.Members);
    }

    [Fact]
    public void Create_again_with_other_parameters_or_another_operation_id_is_refused()
    {
        Ok(Create(PlanTier.Pro, subscribedAt: T0));

        AssertRejected(RejectionCode.SpaceAlreadyExists, () => Create(PlanTier.Max, operationId: "create-2"));
        AssertRejected(RejectionCode.SpaceAlreadyExists, () => Create(PlanTier.Pro, subscribedAt: T0, operationId: "create-2"));
        AssertRejected(RejectionCode.SpaceAlreadyExists, () => Create(PlanTier.Pro, subscribedAt: T0, operationId: "create-3", owner: "someone-else"));
        AssertRejected(RejectionCode.OperationIdReused, () => Create(PlanTier.Max, subscribedAt: T0));
        Assert.Equal(PlanTier.Pro, State.Plan);
    }

    [Fact]
    public void Create_with_invalid_parameters_is_refused_and_creates_nothing()
    {
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Enterprise));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Enterprise, custom: 0));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Enterprise, custom: -5));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Enterprise, custom: 1_000_000_000_001));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, custom: 10));
        AssertRejected(RejectionCode.InvalidRequest, () => Create((PlanTier)9));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, (BillingCadence)5));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, subscribedAt: Now.AddTicks(1)));

        Assert.False(State.Created);
        Assert.Null(Pool.Balance(Now));

        // Nothing was consumed: the real creation is event 1.
        var outcome = Create(PlanTier.Pro);
        Ok(outcome);
        Assert.Equal(1, Assert.Single(outcome.Events).Sequence);
    }

    [Fact]
    public void Create_of_a_space_with_an_invalid_id_is_refused()
    {
        var pool = new SpacePool(new string('s', 129), new SpaceState(), QuotaRules.Default);

        var outcome = pool.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Pro), T0);

        Assert.Equal(RejectionCode.InvalidRequest, outcome.Result.Rejection?.Code);
        Assert.Empty(outcome.Events);
        Assert.False(pool.State.Created);
        Assert.Equal(0, pool.State.Sequence);
    }

    [Fact]
    public void Commands_before_creation_find_no_space()
    {
        AssertRejected(RejectionCode.SpaceNotFound, () => Reserve("r1", Shadows));
        AssertRejected(RejectionCode.SpaceNotFound, () => Reserve("r1", WhiteBackground));
        AssertRejected(RejectionCode.SpaceNotFound, () => Commit("c1", "r1"));
        AssertRejected(RejectionCode.SpaceNotFound, () => Refund("f1", "r1", [0]));
        AssertRejected(RejectionCode.SpaceNotFound, () => AddMember("a1", "owner", "member", SpaceRole.Member));
        AssertRejected(RejectionCode.SpaceNotFound, () => RemoveMember("m1", "owner", "member"));
        AssertRejected(RejectionCode.SpaceNotFound, () => ChangePlan("p1", "owner", PlanTier.Max));

        Assert.Equal("r1", AssertRejected(RejectionCode.SpaceNotFound, () => Commit("c2", "r1")).HoldId);
        Assert.Empty(AdvanceTo(T0.AddYears(1)));
        Assert.Null(Pool.Balance(Now));
        Assert.Null(Pool.NextDueAt());
    }

    // ---- Membership --------------------------------------------------------------------------------------

    [Fact]
    public void Owner_and_admin_add_and_remove_members()
    {
        CreateTeamSpace();

        Assert.Equal(SpaceRole.Admin, State.Members["admin"]);
        Assert.Equal(SpaceRole.Member, State.Members["member"]);

        var added = Ok(AddMember("add-2", "admin", "member-2", SpaceRole.Member));
        Assert.Equal(CommandResult.Ok, added);
        Assert.Equal(SpaceRole.Member, State.Members["member-2"]);

        // An admin may promote a member to admin; an owner may add another owner.
        Ok(AddMember("promote", "admin", "member-2", SpaceRole.Admin));
        Assert.Equal(SpaceRole.Admin, State.Members["member-2"]);
        Ok(AddMember("owner-2", "owner", "co-owner", SpaceRole.Owner));
        Assert.Equal(SpaceRole.Owner, State.Members["co-owner"]);

        var removed = RemoveMember("remove", "admin", "member-2");
        Ok(removed);
        Assert.IsType<MemberRemoved>(Assert.Single(removed.Events));
        Assert.False(State.Members.ContainsKey("member-2"));

        // Anyone may leave.
        Ok(RemoveMember("leave", "member", "member"));
        Assert.False(State.Members.ContainsKey("member"));
        AssertRejected(RejectionCode.NotAMember, () => Reserve("r-after-leave", Shadows, 1, "member"));
    }

    [Fact]
    public void Membership_changes_need_the_right_role()
    {
        CreateTeamSpace();

        AssertRejected(RejectionCode.NotAMember, () => AddMember("a1", "stranger", "x", SpaceRole.Member));
        AssertRejected(RejectionCode.NotAuthorized, () => AddMember("a2", "member", "x", SpaceRole.Member));
        AssertRejected(RejectionCode.NotAuthorized, () => AddMember("a3", "member", "member", SpaceRole.Admin));
        AssertRejected(RejectionCode.NotAuthorized, () => AddMember("a4", "admin", "x", SpaceRole.Owner));
        AssertRejected(RejectionCode.NotAuthorized, () => AddMember("a5", "admin", "admin", SpaceRole.Owner));
        AssertRejected(RejectionCode.NotAuthorized, () => AddMember("a6", "admin", "owner", SpaceRole.Member));
        AssertRejected(RejectionCode.InvalidRequest, () => AddMember("a7", "owner", "x", (SpaceRole)7));

        AssertRejected(RejectionCode.NotAMember, () => RemoveMember("m1", "owner", "stranger"));
        AssertRejected(RejectionCode.NotAMember, () => RemoveMember("m2", "stranger", "member"));
        AssertRejected(RejectionCode.NotAuthorized, () => RemoveMember("m3", "member", "admin"));
        AssertRejected(RejectionCode.NotAuthorized, () => RemoveMember("m4", "admin", "owner"));
    }

    [Fact]
    public void The_last_owner_can_be_neither_demoted_nor_removed()
    {
        CreateTeamSpace();

        AssertRejected(RejectionCode.InvalidRequest, () => AddMember("demote", "owner", "owner", SpaceRole.Admin));
        AssertRejected(RejectionCode.InvalidRequest, () => RemoveMember("leave", "owner", "owner"));

        Ok(AddMember("owner-2", "owner", "co-owner", SpaceRole.Owner));
        Ok(AddMember("demote-2", "co-owner", "owner", SpaceRole.Admin));
        Assert.Equal(SpaceRole.Admin, State.Members["owner"]);
    }

    // ---- Plans -------------------------------------------------------------------------------------------

    [Fact]
    public void Upgrade_mid_cycle_raises_the_allowance_at_once_and_keeps_used()
    {
        Ok(Create(PlanTier.Free));
        Spend("s1", 30);
        Now = T0.AddHours(1);

        var outcome = ChangePlan("up", "owner", PlanTier.Pro);

        Assert.Equal(CommandResult.Ok, Ok(outcome));
        var upgraded = Assert.IsType<PlanUpgraded>(Assert.Single(outcome.Events));
        Assert.Equal(new PlanUpgraded(4, Now, "up", upgraded.Fingerprint, PlanTier.Pro, null, 500), upgraded);
        Assert.Equal(PlanTier.Pro, State.Plan);
        Assert.Null(State.PendingPlan);
        Assert.Equal(500, State.Allowance);
        Assert.Equal(30, State.Used);
        Assert.Equal(T0, State.CycleStart);
        Assert.Equal(Feb28, State.NextRenewal);
        Assert.Equal(470, Pool.Balance(Now)!.Available);

        AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("too-many", Shadows, 471));
        Ok(Reserve("all", Shadows, 470));
    }

    [Fact]
    public void Upgrade_to_enterprise_uses_the_custom_allowance()
    {
        CreateTeamSpace(PlanTier.Ultra);

        Ok(ChangePlan("up", "admin", PlanTier.Enterprise, 10_000));

        Assert.Equal(PlanTier.Enterprise, State.Plan);
        Assert.Equal(10_000, State.CustomAllowance);
        Assert.Equal(10_000, State.Allowance);
    }

    [Fact]
    public void Downgrade_takes_effect_at_the_next_renewal()
    {
        CreateTeamSpace(PlanTier.Max);
        Spend("s1", 200);
        Now = T0.AddDays(1);

        var outcome = ChangePlan("down", "admin", PlanTier.Pro);

        Assert.Equal(CommandResult.Ok, Ok(outcome));
        var scheduled = Assert.IsType<PlanChangeScheduled>(Assert.Single(outcome.Events));
        Assert.Equal(new PlanChangeScheduled(6, Now, "down", scheduled.Fingerprint, PlanTier.Pro, null, Feb28), scheduled);
        Assert.Equal(PlanTier.Max, State.Plan);
        Assert.Equal(PlanTier.Pro, State.PendingPlan);
        Assert.Equal(1500, State.Allowance);
        Assert.Equal(200, State.Used);
        Assert.Equal(PlanTier.Pro, Pool.Balance(Now)!.PendingPlan);

        // Until the renewal the whole higher allowance may still be spent.
        Ok(Reserve("big", Recolor, 325));
        Assert.Equal(0, Available);
        Ok(Refund("big-refund", "big"));

        Assert.Empty(AdvanceTo(Feb28.AddTicks(-1)));
        Assert.Equal(1500, State.Allowance);
        Assert.Equal(PlanTier.Max, State.Plan);

        var renewed = Assert.IsType<CycleRenewed>(Assert.Single(AdvanceTo(Feb28)));
        Assert.Equal(Renewed(9, Feb28, PlanTier.Pro, 500, Mar31, 0), renewed);
        Assert.Equal(PlanTier.Pro, State.Plan);
        Assert.Null(State.PendingPlan);
        Assert.Equal(500, State.Allowance);
        Assert.Equal(0, State.Used);

        // The lower allowance holds in the following cycles too.
        AdvanceTo(Mar31);
        Assert.Equal(500, State.Allowance);
    }

    [Fact]
    public void Cancel_back_to_free_takes_effect_at_the_next_renewal()
    {
        CreateTeamSpace(PlanTier.Pro);
        Spend("s1", 300);
        Now = T0.AddDays(2);

        Ok(ChangePlan("cancel", "owner", PlanTier.Free));

        Assert.Equal((PlanTier.Pro, PlanTier.Free, 500L), (State.Plan, State.PendingPlan, State.Allowance));
        Ok(Reserve("r1", Shadows, 200));
        Ok(Refund("r1-refund", "r1"));
        Assert.Empty(AdvanceTo(Feb28.AddTicks(-1)));
        Assert.Equal(500, State.Allowance);

        var renewed = Assert.IsType<CycleRenewed>(Assert.Single(AdvanceTo(Feb28)));

        Assert.Equal(Renewed(renewed.Sequence, Feb28, PlanTier.Free, 100, Mar31, 0), renewed);
        Assert.Equal((PlanTier.Free, (PlanTier?)null, 100L, 0L), (State.Plan, State.PendingPlan, State.Allowance, State.Used));
        Assert.Equal(BillingCadence.Monthly, State.Cadence);
    }

    /// <summary>
    /// DOMAIN.md: "Free Spaces renew monthly from the Space's creation instant". A weekly subscription cancelled
    /// back to Free must not keep renewing (and refilling the Free allowance) every week. Here the Space was created
    /// and subscribed at the same instant, so "monthly from creation" and "monthly from the subscription" agree.
    /// </summary>
    [Fact]
    public void Weekly_space_cancelled_to_free_renews_monthly_from_its_creation()
    {
        CreateTeamSpace(PlanTier.Pro, BillingCadence.Weekly);
        var firstRenewal = T0.AddDays(7);
        Now = T0.AddDays(2);
        Ok(ChangePlan("cancel", "owner", PlanTier.Free));

        AdvanceTo(firstRenewal);

        // The cancellation took effect at the weekly renewal it was scheduled for...
        Assert.Equal((PlanTier.Free, 100L, firstRenewal), (State.Plan, State.Allowance, State.CycleStart));

        // ...and from then on the Free Space renews monthly, on the creation instant's day and time.
        Assert.Equal(BillingCadence.Monthly, State.Cadence);
        Assert.Equal(Feb28, State.NextRenewal);
        Assert.Empty(AdvanceTo(T0.AddDays(14)));
    }

    [Fact]
    public void Upgrade_after_a_scheduled_downgrade_cancels_it()
    {
        CreateTeamSpace(PlanTier.Max);
        Ok(ChangePlan("down", "owner", PlanTier.Free));
        Assert.Equal(PlanTier.Free, State.PendingPlan);

        Ok(ChangePlan("stay", "owner", PlanTier.Max));

        Assert.Null(State.PendingPlan);
        AdvanceTo(Feb28);
        Assert.Equal(PlanTier.Max, State.Plan);
        Assert.Equal(1500, State.Allowance);
    }

    [Fact]
    public void Enterprise_downgrade_to_a_lower_custom_allowance_waits_for_the_renewal()
    {
        CreateTeamSpace(PlanTier.Enterprise, custom: 9_000);

        Ok(ChangePlan("down", "owner", PlanTier.Enterprise, 5_000));

        Assert.Equal(9_000, State.Allowance);
        Assert.Equal(PlanTier.Enterprise, State.PendingPlan);
        Assert.Equal(5_000, State.PendingCustomAllowance);
        AdvanceTo(Feb28);
        Assert.Equal(5_000, State.Allowance);
        Assert.Equal(5_000, State.CustomAllowance);
    }

    [Fact]
    public void Plan_changes_need_an_admin_and_a_valid_plan()
    {
        CreateTeamSpace();

        AssertRejected(RejectionCode.NotAMember, () => ChangePlan("p1", "stranger", PlanTier.Max));
        AssertRejected(RejectionCode.NotAuthorized, () => ChangePlan("p2", "member", PlanTier.Max));
        AssertRejected(RejectionCode.NotAuthorized, () => ChangePlan("p3", "member", PlanTier.Free));
        AssertRejected(RejectionCode.InvalidRequest, () => ChangePlan("p4", "owner", PlanTier.Enterprise));
        AssertRejected(RejectionCode.InvalidRequest, () => ChangePlan("p5", "owner", PlanTier.Max, 100));
        AssertRejected(RejectionCode.InvalidRequest, () => ChangePlan("p6", "owner", (PlanTier)42));

        Ok(ChangePlan("p7", "admin", PlanTier.Max));
        Assert.Equal(1500, State.Allowance);
    }

    [Fact]
    public void Administration_commands_replay_by_operation_id()
    {
        CreateTeamSpace();
        Ok(ChangePlan("up", "owner", PlanTier.Max));
        var sequence = State.Sequence;

        var add = AddMember("add-member", "owner", "member", SpaceRole.Member);
        var change = ChangePlan("up", "owner", PlanTier.Max);

        Assert.True(add.Result.Replayed);
        Assert.True(add.Result.Succeeded);
        Assert.True(change.Result.Replayed);
        Assert.Empty(add.Events);
        Assert.Empty(change.Events);
        Assert.Equal(sequence, State.Sequence);

        AssertRejected(RejectionCode.OperationIdReused, () => AddMember("add-member", "owner", "member", SpaceRole.Admin));
        AssertRejected(RejectionCode.OperationIdReused, () => ChangePlan("add-member", "owner", PlanTier.Ultra));
        AssertRejected(RejectionCode.OperationIdReused, () => ChangePlan("up", "owner", PlanTier.Ultra));
        AssertRejected(RejectionCode.OperationIdReused, () => RemoveMember("up", "owner", "member"));
    }
}
