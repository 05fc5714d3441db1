using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>The user grain routes spending to the Space and refuses non-members without touching the Space.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class UserGrainRoutingTests(QuotaClusterFixture fixture)
{
    [Fact]
    public async Task A_non_member_is_refused_and_the_Space_is_unchanged()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var stranger = QuotaClusterFixture.NewId("stranger");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 2);
        await fixture.SpendAsync(owner, spaceId, VirtualModelHd);
        var before = await fixture.BalanceAsync(spaceId);
        var usageBefore = (await fixture.Space(spaceId).GetUsageAsync())![0];

        var reserve = await fixture.User(stranger).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        var commit = await fixture.User(stranger).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));
        var refund = await fixture.User(stranger).RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));

        Assert.Equal(RejectionCode.NotAMember, reserve.Rejection?.Code);
        Assert.Null(reserve.HoldId);
        Assert.Equal(RejectionCode.NotAMember, commit.Rejection?.Code);
        Assert.Equal(hold.HoldId, commit.HoldId);
        Assert.Equal(RejectionCode.NotAMember, refund.Rejection?.Code);
        var after = await fixture.BalanceAsync(spaceId);
        after.AssertPool(500, used: 8, held: 8);
        Assert.Equal(before with { AsOf = after.AsOf }, after);
        var usageAfter = (await fixture.Space(spaceId).GetUsageAsync())![0];
        Assert.Equal((usageBefore.Credits, usageBefore.Generations), (usageAfter.Credits, usageAfter.Generations));
        Assert.Equal(usageBefore.ByMember, usageAfter.ByMember);
        Assert.False(usageAfter.ByMember.ContainsKey(stranger));
        Assert.Empty(await fixture.User(stranger).GetSpacesAsync());
    }

    [Fact]
    public async Task A_non_member_reserving_in_a_Space_that_does_not_exist_never_reaches_it()
    {
        var stranger = QuotaClusterFixture.NewId("stranger");
        var spaceId = QuotaClusterFixture.NewId("space");

        var reserve = await fixture.User(stranger).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        var commit = await fixture.User(stranger).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), "some-hold"));

        // NotAMember, not SpaceNotFound: the user grain answered without calling the Space, which was never activated.
        Assert.Equal(RejectionCode.NotAMember, reserve.Rejection?.Code);
        Assert.Equal(RejectionCode.NotAMember, commit.Rejection?.Code);
        Assert.False(fixture.IsActivated(fixture.Space(spaceId)));

        // Asked directly, the Space does answer SpaceNotFound (and only now is it activated).
        var direct = await fixture.Space(spaceId).ReserveAsync(stranger, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        Assert.Equal(RejectionCode.SpaceNotFound, direct.Rejection?.Code);
        Assert.True(fixture.IsActivated(fixture.Space(spaceId)));
    }

    [Fact]
    public async Task The_Space_checks_membership_again_when_called_directly()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var stranger = QuotaClusterFixture.NewId("stranger");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        var direct = await fixture.Space(spaceId).ReserveAsync(stranger, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));

        Assert.Equal(RejectionCode.NotAMember, direct.Rejection?.Code);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Fact]
    public async Task A_removed_member_can_no_longer_reserve()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner, null, member);
        await fixture.SpendAsync(member, spaceId, Recolor);

        var removed = await fixture.Space(spaceId).RemoveMemberAsync(new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, member));
        Assert.True(removed.Succeeded, removed.Rejection?.ToString());

        var viaUser = await fixture.User(member).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Recolor));
        var viaSpace = await fixture.Space(spaceId).ReserveAsync(member, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Recolor));

        Assert.Equal(RejectionCode.NotAMember, viaUser.Rejection?.Code);
        Assert.Equal(RejectionCode.NotAMember, viaSpace.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 4, held: 0);
        Assert.Empty(await fixture.User(member).GetSpacesAsync());

        // Added back, the user spends again.
        await fixture.AddMemberAsync(spaceId, owner, member, SpaceRole.Member);
        await fixture.SpendAsync(member, spaceId, Recolor);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
    }

    [Fact]
    public async Task A_removed_member_still_commits_and_refunds_their_own_open_holds_through_the_client()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner, null, member);
        await using var batch = await fixture.Quota.ReserveAsync(member, spaceId, Recolor, count: 3);
        await using var single = await fixture.Quota.ReserveAsync(member, spaceId, VirtualModelHd);
        Assert.True(batch.Succeeded && single.Succeeded, batch.Rejection?.ToString() ?? single.Rejection?.ToString());

        var removed = await fixture.Quota.RemoveMemberAsync(spaceId, new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, member));
        Assert.True(removed.Succeeded, removed.Rejection?.ToString());
        Assert.Empty(await fixture.Quota.GetUserSpacesAsync(member));

        // The holds were authorized when they were reserved: their user settles them, item by item or whole.
        var committed = await batch.CommitAsync([0, 2]);
        var refunded = await batch.RefundAsync([1]);
        var refundedSingle = await single.RefundAsync();

        Assert.Equal(new SettleResult { HoldId = batch.HoldId!, CommittedCredits = 8, ItemsSettled = 2, ItemsPending = 1 }, committed);
        Assert.Equal(new SettleResult { HoldId = batch.HoldId!, RefundedCredits = 4, ItemsSettled = 1, ItemsPending = 0 }, refunded);
        Assert.Equal(new SettleResult { HoldId = single.HoldId!, RefundedCredits = 8, ItemsSettled = 1, ItemsPending = 0 }, refundedSingle);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 8, held: 0);
        Assert.Equal((0, 1), (balance.OpenHolds, balance.Members));
        Assert.Equal(new UsageTotals(8, 2), (await fixture.Quota.GetUsageAsync(spaceId))![0].ByMember[member]);

        // A removed member still cannot reserve.
        await using var again = await fixture.Quota.ReserveAsync(member, spaceId, Shadows);
        Assert.Equal(RejectionCode.NotAMember, again.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
    }

    [Fact]
    public async Task A_removed_member_settles_only_their_own_holds_on_either_path()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var other = QuotaClusterFixture.NewId("other");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner, null, member, other);
        var mine = await fixture.ReserveOkAsync(member, spaceId, Recolor, 2);
        var viaUser = await fixture.ReserveOkAsync(member, spaceId, Shadows, 2);
        var theirs = await fixture.ReserveOkAsync(other, spaceId, Recolor);
        var removed = await fixture.Space(spaceId).RemoveMemberAsync(new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, member));
        Assert.True(removed.Succeeded, removed.Rejection?.ToString());

        // Someone else's hold stays theirs: the Space refuses it on both paths and nothing moves.
        var otherDirect = await fixture.Space(spaceId).CommitAsync(member, new SettleRequest(QuotaClusterFixture.NewId("op"), theirs.HoldId!));
        var otherViaUser = await fixture.User(member).RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), theirs.HoldId!));
        Assert.Equal(RejectionCode.HoldNotFound, otherDirect.Rejection?.Code);
        Assert.Equal(RejectionCode.HoldNotFound, otherViaUser.Rejection?.Code);
        Assert.Equal(theirs.HoldId, otherViaUser.HoldId);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 14);

        // Their own: directly on the Space and through the user grain, commit and refund alike.
        var commitDirect = await fixture.Space(spaceId).CommitAsync(member, new SettleRequest(QuotaClusterFixture.NewId("op"), mine.HoldId!, [1]));
        var refundDirect = await fixture.Space(spaceId).RefundAsync(member, new SettleRequest(QuotaClusterFixture.NewId("op"), mine.HoldId!, [0]));
        var commitViaUser = await fixture.User(member).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), viaUser.HoldId!, [0]));
        var refundViaUser = await fixture.User(member).RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), viaUser.HoldId!, [1]));

        Assert.Equal((4L, 0L, 1), (commitDirect.CommittedCredits, commitDirect.RefundedCredits, commitDirect.ItemsPending));
        Assert.Equal((0L, 4L, 0), (refundDirect.CommittedCredits, refundDirect.RefundedCredits, refundDirect.ItemsPending));
        Assert.Equal((1L, 0L, 1), (commitViaUser.CommittedCredits, commitViaUser.RefundedCredits, commitViaUser.ItemsPending));
        Assert.Equal((0L, 1L, 0), (refundViaUser.CommittedCredits, refundViaUser.RefundedCredits, refundViaUser.ItemsPending));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 5, held: 4);
        var direct = await fixture.Space(spaceId).ReserveAsync(member, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        Assert.Equal(RejectionCode.NotAMember, direct.Rejection?.Code);
    }

    [Fact]
    public async Task A_member_added_later_is_routed_with_the_role_the_Space_gave()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var late = QuotaClusterFixture.NewId("late");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var before = await fixture.User(late).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        Assert.Equal(RejectionCode.NotAMember, before.Rejection?.Code);

        await fixture.AddMemberAsync(spaceId, owner, late, SpaceRole.Admin);
        var committed = await fixture.SpendAsync(late, spaceId, Shadows, 3);

        Assert.Equal(3, committed.CommittedCredits);
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Admin)], await fixture.User(late).GetSpacesAsync());
        Assert.Equal(new UsageTotals(3, 3), (await fixture.Space(spaceId).GetUsageAsync())![0].ByMember[late]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("tab\tin-id")]
    [InlineData(null)]
    public async Task A_malformed_Space_id_is_an_invalid_request(string? spaceId)
    {
        var owner = QuotaClusterFixture.NewId("owner");
        await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        var reserve = await fixture.User(owner).ReserveAsync(spaceId!, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        var commit = await fixture.User(owner).CommitAsync(spaceId!, new SettleRequest(QuotaClusterFixture.NewId("op"), "h"));

        Assert.Equal(RejectionCode.InvalidRequest, reserve.Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, commit.Rejection?.Code);
    }

    [Fact]
    public async Task An_over_long_Space_id_is_an_invalid_request_not_a_membership_question()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = new string('s', 129);

        var reserve = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));

        Assert.Equal(RejectionCode.InvalidRequest, reserve.Rejection?.Code);
        Assert.False(fixture.IsActivated(fixture.Space(spaceId)));
    }

    [Fact]
    public async Task An_over_long_user_id_is_an_invalid_request()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = new string('u', 129);

        var reserve = await fixture.User(user).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows));
        var add = await fixture.Space(spaceId).AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, user, SpaceRole.Member));

        Assert.Equal(RejectionCode.InvalidRequest, reserve.Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, add.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
    }
}
