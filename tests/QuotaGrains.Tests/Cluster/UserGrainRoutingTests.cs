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
        var usageBefore = (await fixture.Space(spaceId).GetUsageAsync())[0];

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
        var usageAfter = (await fixture.Space(spaceId).GetUsageAsync())[0];
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
        Assert.Equal(new UsageTotals(3, 3), (await fixture.Space(spaceId).GetUsageAsync())[0].ByMember[late]);
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
