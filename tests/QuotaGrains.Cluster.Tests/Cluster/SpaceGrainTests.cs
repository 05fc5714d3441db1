using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>Each Space operation through the grains: create, membership, plan changes, reserve, commit, refund, balance.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class SpaceGrainTests(QuotaClusterFixture fixture)
{
    private static DateTimeOffset WholeSeconds(DateTimeOffset instant) =>
        new(instant.UtcTicks - (instant.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    [Theory]
    [InlineData(PlanTier.Free, 100)]
    [InlineData(PlanTier.Pro, 500)]
    [InlineData(PlanTier.Max, 1_500)]
    [InlineData(PlanTier.Ultra, 2_550)]
    public async Task Create_gives_the_plan_allowance_and_makes_the_creator_Owner(PlanTier plan, long allowance)
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = QuotaClusterFixture.NewId("space");
        var now = fixture.Time.GetUtcNow();

        var created = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, plan));

        Assert.True(created.Succeeded, created.Rejection?.ToString());
        Assert.False(created.Replayed);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(allowance, used: 0, held: 0);
        Assert.Equal(spaceId, balance.SpaceId);
        Assert.Equal(plan, balance.Plan);
        Assert.Null(balance.PendingPlan);
        Assert.Equal(1, balance.Members);
        Assert.Equal(0, balance.OpenHolds);
        Assert.Equal(WholeSeconds(now), balance.CycleStart);
        Assert.Equal(WholeSeconds(now).AddMonths(1), balance.NextRenewal);
        Assert.Equal([new SpaceMember(owner, SpaceRole.Owner)], await fixture.Space(spaceId).GetMembersAsync());
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Owner)], await fixture.User(owner).GetSpacesAsync());
    }

    [Fact]
    public async Task Enterprise_takes_its_custom_allowance_and_other_plans_refuse_one()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = QuotaClusterFixture.NewId("space");

        var missing = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Enterprise));
        Assert.Equal(RejectionCode.InvalidRequest, missing.Rejection?.Code);
        var zero = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Enterprise, CustomAllowance: 0));
        Assert.Equal(RejectionCode.InvalidRequest, zero.Rejection?.Code);
        var proWithCustom = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Pro, CustomAllowance: 700));
        Assert.Equal(RejectionCode.InvalidRequest, proWithCustom.Rejection?.Code);
        Assert.Null(await fixture.Space(spaceId).GetBalanceAsync());
        Assert.Empty(await fixture.User(owner).GetSpacesAsync());

        var created = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Enterprise, CustomAllowance: 12_345));

        Assert.True(created.Succeeded, created.Rejection?.ToString());
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal(PlanTier.Enterprise, balance.Plan);
        balance.AssertPool(12_345, used: 0, held: 0);
    }

    [Fact]
    public async Task Creating_an_existing_Space_again_is_refused_and_changes_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = QuotaClusterFixture.NewId("space");
        var request = new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Pro);
        Assert.True((await fixture.Space(spaceId).CreateAsync(request)).Succeeded);

        var other = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), QuotaClusterFixture.NewId("intruder"), PlanTier.Free));
        var sameParameters = await fixture.Space(spaceId).CreateAsync(request with { OperationId = QuotaClusterFixture.NewId("op") });

        Assert.Equal(RejectionCode.SpaceAlreadyExists, other.Rejection?.Code);
        Assert.Equal(RejectionCode.SpaceAlreadyExists, sameParameters.Rejection?.Code);
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal(PlanTier.Pro, balance.Plan);
        Assert.Equal(500, balance.Allowance);
        Assert.Equal([new SpaceMember(owner, SpaceRole.Owner)], await fixture.Space(spaceId).GetMembersAsync());
    }

    [Fact]
    public async Task A_weekly_Space_subscribed_earlier_renews_every_seven_days_at_the_subscription_time_of_day()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = QuotaClusterFixture.NewId("space");
        var subscribed = fixture.Time.GetUtcNow() - TimeSpan.FromDays(10) - TimeSpan.FromHours(3) - TimeSpan.FromSeconds(7);
        var anchor = WholeSeconds(subscribed);

        var future = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(
            QuotaClusterFixture.NewId("op"), owner, PlanTier.Max, BillingCadence.Weekly, fixture.Time.GetUtcNow() + TimeSpan.FromMinutes(1)));
        Assert.Equal(RejectionCode.InvalidRequest, future.Rejection?.Code);
        Assert.Null(await fixture.Space(spaceId).GetBalanceAsync());

        var created = await fixture.Space(spaceId).CreateAsync(new CreateSpaceRequest(
            QuotaClusterFixture.NewId("op"), owner, PlanTier.Max, BillingCadence.Weekly, subscribed));

        Assert.True(created.Succeeded, created.Rejection?.ToString());
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal(anchor + TimeSpan.FromDays(7), balance.CycleStart);
        Assert.Equal(anchor + TimeSpan.FromDays(14), balance.NextRenewal);
        balance.AssertPool(1_500, used: 0, held: 0);
    }

    [Fact]
    public async Task Members_are_added_changed_and_removed_by_role_and_the_user_grain_follows()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var admin = QuotaClusterFixture.NewId("admin");
        var member = QuotaClusterFixture.NewId("member");
        var outsider = QuotaClusterFixture.NewId("outsider");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var space = fixture.Space(spaceId);

        Assert.True((await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, admin, SpaceRole.Admin))).Succeeded);
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Admin)], await fixture.User(admin).GetSpacesAsync());

        // An Admin adds a Member; a Member adds nobody; an Admin may not make an Owner; an outsider does nothing.
        Assert.True((await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), admin, member, SpaceRole.Member))).Succeeded);
        var byMember = await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), member, outsider, SpaceRole.Member));
        Assert.Equal(RejectionCode.NotAuthorized, byMember.Rejection?.Code);
        var ownerByAdmin = await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), admin, member, SpaceRole.Owner));
        Assert.Equal(RejectionCode.NotAuthorized, ownerByAdmin.Rejection?.Code);
        var byOutsider = await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), outsider, outsider, SpaceRole.Admin));
        Assert.Equal(RejectionCode.NotAMember, byOutsider.Rejection?.Code);

        Assert.Equal(
            new[] { new SpaceMember(admin, SpaceRole.Admin), new SpaceMember(member, SpaceRole.Member), new SpaceMember(owner, SpaceRole.Owner) }.OrderBy(m => m.UserId, StringComparer.Ordinal),
            await space.GetMembersAsync());
        Assert.Equal(3, (await fixture.BalanceAsync(spaceId)).Members);
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Member)], await fixture.User(member).GetSpacesAsync());
        Assert.Empty(await fixture.User(outsider).GetSpacesAsync());

        // Changing a role is adding again with the new role.
        Assert.True((await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, member, SpaceRole.Admin))).Succeeded);
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Admin)], await fixture.User(member).GetSpacesAsync());

        // The last Owner can neither leave nor be demoted; a non-member cannot be removed.
        var lastOwner = await space.RemoveMemberAsync(new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, owner));
        Assert.Equal(RejectionCode.InvalidRequest, lastOwner.Rejection?.Code);
        var demote = await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, owner, SpaceRole.Admin));
        Assert.Equal(RejectionCode.InvalidRequest, demote.Rejection?.Code);
        var notMember = await space.RemoveMemberAsync(new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, outsider));
        Assert.Equal(RejectionCode.NotAMember, notMember.Rejection?.Code);

        // An Admin removes someone; a member may leave on their own.
        Assert.True((await space.RemoveMemberAsync(new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), admin, member))).Succeeded);
        Assert.True((await space.RemoveMemberAsync(new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), admin, admin))).Succeeded);

        Assert.Equal([new SpaceMember(owner, SpaceRole.Owner)], await space.GetMembersAsync());
        Assert.Empty(await fixture.User(member).GetSpacesAsync());
        Assert.Empty(await fixture.User(admin).GetSpacesAsync());
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Owner)], await fixture.User(owner).GetSpacesAsync());
    }

    [Fact]
    public async Task A_user_in_several_Spaces_sees_each_with_its_role()
    {
        var user = QuotaClusterFixture.NewId("user");
        var owned = await fixture.CreateSpaceAsync(PlanTier.Free, user);
        var joined = await fixture.CreateSpaceAsync(PlanTier.Pro, QuotaClusterFixture.NewId("owner"), null, user);

        var spaces = await fixture.User(user).GetSpacesAsync();

        Assert.Equal(
            new[] { new UserSpace(owned, SpaceRole.Owner), new UserSpace(joined, SpaceRole.Member) }.OrderBy(s => s.SpaceId, StringComparer.Ordinal),
            spaces);
    }

    [Fact]
    public async Task An_upgrade_raises_the_allowance_at_once_and_keeps_what_was_used()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner, null, member);
        await fixture.SpendAsync(member, spaceId, VirtualModelHd);
        var before = await fixture.BalanceAsync(spaceId);

        var byMember = await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), member, PlanTier.Ultra));
        Assert.Equal(RejectionCode.NotAuthorized, byMember.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(100, used: 8, held: 0);

        var upgraded = await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Pro));

        Assert.True(upgraded.Succeeded, upgraded.Rejection?.ToString());
        var after = await fixture.BalanceAsync(spaceId);
        after.AssertPool(500, used: 8, held: 0);
        Assert.Equal(PlanTier.Pro, after.Plan);
        Assert.Null(after.PendingPlan);
        Assert.Equal(before.CycleStart, after.CycleStart);
        Assert.Equal(before.NextRenewal, after.NextRenewal);

        var toEnterprise = await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Enterprise, 10_000));
        Assert.True(toEnterprise.Succeeded, toEnterprise.Rejection?.ToString());
        (await fixture.BalanceAsync(spaceId)).AssertPool(10_000, used: 8, held: 0);
    }

    [Fact]
    public async Task A_downgrade_waits_for_the_next_renewal_to_the_second()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Max, owner);
        await fixture.SpendAsync(owner, spaceId, Recolor, 3);
        var start = await fixture.BalanceAsync(spaceId);
        var anchor = start.CycleStart;
        Assert.Equal(anchor.AddMonths(1), start.NextRenewal);

        var downgraded = await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Pro));

        Assert.True(downgraded.Succeeded, downgraded.Rejection?.ToString());
        var pending = await fixture.BalanceAsync(spaceId);
        pending.AssertPool(1_500, used: 12, held: 0);
        Assert.Equal(PlanTier.Max, pending.Plan);
        Assert.Equal(PlanTier.Pro, pending.PendingPlan);

        fixture.AdvanceTo(start.NextRenewal - TimeSpan.FromSeconds(1));
        var justBefore = await fixture.BalanceAsync(spaceId);
        justBefore.AssertPool(1_500, used: 12, held: 0);
        Assert.Equal((PlanTier.Max, (PlanTier?)PlanTier.Pro, anchor), (justBefore.Plan, justBefore.PendingPlan, justBefore.CycleStart));

        fixture.AdvanceTo(start.NextRenewal);
        var renewed = await fixture.BalanceAsync(spaceId);
        renewed.AssertPool(500, used: 0, held: 0);
        Assert.Equal((PlanTier.Pro, (PlanTier?)null), (renewed.Plan, renewed.PendingPlan));
        Assert.Equal(start.NextRenewal, renewed.CycleStart);
        Assert.Equal(anchor.AddMonths(2), renewed.NextRenewal);

        // The finished cycle is kept for the usage page, newest first after the current one.
        var usage = await fixture.Space(spaceId).GetUsageAsync() ?? throw new InvalidOperationException("no such Space");
        Assert.Equal(2, usage.Count);
        Assert.Equal((start.NextRenewal, anchor.AddMonths(2), 500L, 0L, 0L), (usage[0].CycleStart, usage[0].CycleEnd, usage[0].Allowance, usage[0].Credits, usage[0].Generations));
        Assert.Equal((anchor, start.NextRenewal, 1_500L, 12L, 3L), (usage[1].CycleStart, usage[1].CycleEnd, usage[1].Allowance, usage[1].Credits, usage[1].Generations));
    }

    [Fact]
    public async Task Upgrading_back_cancels_a_pending_downgrade()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Ultra, owner);
        Assert.True((await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Free))).Succeeded);
        Assert.Equal(PlanTier.Free, (await fixture.BalanceAsync(spaceId)).PendingPlan);

        var back = await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Ultra));

        Assert.True(back.Succeeded, back.Rejection?.ToString());
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((PlanTier.Ultra, (PlanTier?)null, 2_550L), (balance.Plan, balance.PendingPlan, balance.Allowance));
    }

    [Fact]
    public async Task Reserve_holds_commit_charges_and_refund_returns()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);
        var now = fixture.Time.GetUtcNow();

        var reserved = await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), VirtualModelHd));

        Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
        Assert.False(reserved.IsFree);
        Assert.Equal((1, 8L, 8L, 492L), (reserved.Items, reserved.UnitCredits, reserved.Credits, reserved.Available));
        Assert.Equal(now + TimeSpan.FromMinutes(15), reserved.ExpiresAt);
        var held = await fixture.BalanceAsync(spaceId);
        held.AssertPool(500, used: 0, held: 8);
        Assert.Equal(1, held.OpenHolds);

        var committed = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), reserved.HoldId!));

        Assert.True(committed.Succeeded, committed.Rejection?.ToString());
        Assert.Equal((reserved.HoldId!, 8L, 0L, 1, 0), (committed.HoldId, committed.CommittedCredits, committed.RefundedCredits, committed.ItemsSettled, committed.ItemsPending));
        var charged = await fixture.BalanceAsync(spaceId);
        charged.AssertPool(500, used: 8, held: 0);
        Assert.Equal(0, charged.OpenHolds);

        var failed = await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), new GenerationSpec("recolor", MediaKind.Image, ResolutionTier.FourK)));
        Assert.Equal(16, failed.Credits);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 16);

        var refunded = await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), failed.HoldId!));

        Assert.True(refunded.Succeeded, refunded.Rejection?.ToString());
        Assert.Equal((0L, 16L, 1, 0), (refunded.CommittedCredits, refunded.RefundedCredits, refunded.ItemsSettled, refunded.ItemsPending));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);

        // A settled hold is closed: a new commit or refund finds its items already settled.
        var late = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), failed.HoldId!));
        Assert.Equal(RejectionCode.ItemAlreadySettled, late.Rejection?.Code);
        var again = await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), reserved.HoldId!));
        Assert.Equal(RejectionCode.ItemAlreadySettled, again.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
    }

    [Fact]
    public async Task A_member_cannot_settle_another_members_hold()
    {
        var alice = QuotaClusterFixture.NewId("alice");
        var bob = QuotaClusterFixture.NewId("bob");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, alice, null, bob);
        var hold = await fixture.ReserveOkAsync(alice, spaceId, Recolor);

        var commit = await fixture.User(bob).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));
        var refund = await fixture.User(bob).RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));

        Assert.Equal(RejectionCode.HoldNotFound, commit.Rejection?.Code);
        Assert.Equal(RejectionCode.HoldNotFound, refund.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 4);
        var own = await fixture.User(alice).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));
        Assert.Equal(4, own.CommittedCredits);
    }

    [Fact]
    public async Task A_reserve_that_does_not_fit_is_refused_with_available_required_and_next_renewal()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);
        var big = await fixture.ReserveOkAsync(owner, spaceId, new GenerationSpec("ai-video", MediaKind.Video, ResolutionTier.FourK));
        Assert.Equal(80, big.Credits);
        var exact = await fixture.ReserveOkAsync(owner, spaceId, Video);
        Assert.Equal(0, exact.Available);

        var refused = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));

        var balance = await fixture.BalanceAsync(spaceId);
        Assert.False(refused.Succeeded);
        Assert.Null(refused.HoldId);
        Assert.Equal(RejectionCode.InsufficientCredits, refused.Rejection!.Code);
        Assert.Equal((0L, 1L, balance.NextRenewal), (refused.Rejection.Available, refused.Rejection.Required, refused.Rejection.NextRenewal));
        balance.AssertPool(100, used: 0, held: 100);
        Assert.Equal(2, balance.OpenHolds);

        // Refunding makes room again.
        await fixture.User(owner).RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), exact.HoldId!));
        var fits = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        Assert.True(fits.Succeeded, fits.Rejection?.ToString());
        Assert.Equal(19, fits.Available);
    }

    [Fact]
    public async Task Unpriced_features_are_refused_and_hold_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);

        var unknown = await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), new GenerationSpec("teleport")));
        var noVideo = await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), new GenerationSpec("recolor", MediaKind.Video)));
        var noFeature = await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), new GenerationSpec(" ")));

        Assert.Equal(RejectionCode.UnknownFeature, unknown.Rejection?.Code);
        Assert.Equal(RejectionCode.UnknownFeature, noVideo.Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, noFeature.Rejection?.Code);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Fact]
    public async Task Holds_open_at_a_renewal_carry_over_into_the_new_cycle()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);
        await fixture.SpendAsync(owner, spaceId, Video, 2);
        var start = await fixture.BalanceAsync(spaceId);
        fixture.AdvanceTo(start.NextRenewal - TimeSpan.FromMinutes(1));
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Video);
        (await fixture.BalanceAsync(spaceId)).AssertPool(100, used: 40, held: 20);

        fixture.AdvanceTo(start.NextRenewal);

        var renewed = await fixture.BalanceAsync(spaceId);
        renewed.AssertPool(100, used: 0, held: 20);
        Assert.Equal(start.NextRenewal, renewed.CycleStart);
        var committed = await fixture.User(owner).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));
        Assert.Equal(20, committed.CommittedCredits);
        (await fixture.BalanceAsync(spaceId)).AssertPool(100, used: 20, held: 0);
        var usage = await fixture.Space(spaceId).GetUsageAsync() ?? throw new InvalidOperationException("no such Space");
        Assert.Equal((20L, 1L), (usage[0].Credits, usage[0].Generations));
        Assert.Equal((40L, 2L), (usage[1].Credits, usage[1].Generations));
    }

    [Fact]
    public async Task Commands_on_a_Space_that_was_never_created_are_refused_with_SpaceNotFound()
    {
        var spaceId = QuotaClusterFixture.NewId("space");
        var user = QuotaClusterFixture.NewId("user");
        var space = fixture.Space(spaceId);

        var add = await space.AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), user, user, SpaceRole.Owner));
        var plan = await space.ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), user, PlanTier.Pro));
        var reserve = await space.ReserveAsync(user, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));

        Assert.Equal(RejectionCode.SpaceNotFound, add.Rejection?.Code);
        Assert.Equal(RejectionCode.SpaceNotFound, plan.Rejection?.Code);
        Assert.Equal(RejectionCode.SpaceNotFound, reserve.Rejection?.Code);
        Assert.Null(await space.GetBalanceAsync());
        Assert.Null(await space.GetUsageAsync());
        Assert.Empty(await space.GetMembersAsync());
        Assert.Empty(await fixture.User(user).GetSpacesAsync());
    }
}
