using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>An operation id is carried out once: a retry replays the first outcome; a reuse with other parameters is refused.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class IdempotencyTests(QuotaClusterFixture fixture)
{
    [Fact]
    public async Task A_retried_reserve_replays_the_first_outcome_and_holds_once()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var request = new ReserveRequest(QuotaClusterFixture.NewId("hold"), VirtualModelHd, 3);
        var user = fixture.User(owner);

        var first = await user.ReserveAsync(spaceId, request);
        fixture.Time.Advance(TimeSpan.FromSeconds(30));
        var retry = await user.ReserveAsync(spaceId, request);

        Assert.True(first.Succeeded, first.Rejection?.ToString());
        Assert.False(first.Replayed);
        Assert.True(retry.Replayed);
        Assert.Equal(first with { Replayed = true }, retry);
        Assert.Equal(request.OperationId, retry.HoldId);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 24);
        Assert.Equal(1, balance.OpenHolds);
    }

    [Fact]
    public async Task Reusing_a_reserve_id_with_other_parameters_is_refused_and_changes_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var other = QuotaClusterFixture.NewId("other");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner, null, other);
        var request = new ReserveRequest(QuotaClusterFixture.NewId("hold"), Recolor, 2);
        var first = await fixture.User(owner).ReserveAsync(spaceId, request);
        Assert.True(first.Succeeded, first.Rejection?.ToString());

        ReserveResult[] reused =
        [
            await fixture.User(owner).ReserveAsync(spaceId, request with { Count = 3 }),
            await fixture.User(owner).ReserveAsync(spaceId, request with { Spec = Shadows }),
            await fixture.User(owner).ReserveAsync(spaceId, request with { Spec = new GenerationSpec("recolor", MediaKind.Image, ResolutionTier.Hd) }),
            await fixture.User(other).ReserveAsync(spaceId, request),
        ];

        Assert.All(reused, r => Assert.Equal(RejectionCode.OperationIdReused, r.Rejection?.Code));
        Assert.All(reused, r => Assert.Null(r.HoldId));
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 8);
        Assert.Equal(1, balance.OpenHolds);
    }

    [Fact]
    public async Task The_feature_name_is_matched_without_regard_to_case_on_a_retry()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var request = new ReserveRequest(QuotaClusterFixture.NewId("hold"), new GenerationSpec("Recolor"));

        var first = await fixture.User(owner).ReserveAsync(spaceId, request);
        var retry = await fixture.User(owner).ReserveAsync(spaceId, request with { Spec = new GenerationSpec("recolor") });

        Assert.True(first.Succeeded, first.Rejection?.ToString());
        Assert.True(retry.Replayed);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 4);
    }

    [Fact]
    public async Task A_retried_commit_replays_and_charges_once()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 4);
        var commit = new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!, [1, 3]);
        var user = fixture.User(owner);

        var first = await user.CommitAsync(spaceId, commit);
        var retry = await user.CommitAsync(spaceId, commit);

        Assert.Equal((8L, 2, 2, false), (first.CommittedCredits, first.ItemsSettled, first.ItemsPending, first.Replayed));
        Assert.Equal(first with { Replayed = true }, retry);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 8);

        // The same id for a refund, or for other items, is a reuse.
        var asRefund = await user.RefundAsync(spaceId, commit);
        var otherItems = await user.CommitAsync(spaceId, commit with { Items = [0] });
        Assert.Equal(RejectionCode.OperationIdReused, asRefund.Rejection?.Code);
        Assert.Equal(RejectionCode.OperationIdReused, otherItems.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 8);

        // A commit of everything, retried after the hold closed, still replays its first outcome.
        var rest = new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!);
        var restFirst = await user.CommitAsync(spaceId, rest);
        var restRetry = await user.CommitAsync(spaceId, rest);
        Assert.Equal(8, restFirst.CommittedCredits);
        Assert.Equal(restFirst with { Replayed = true }, restRetry);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 16, held: 0);
        var usage = (await fixture.Space(spaceId).GetUsageAsync())![0];
        Assert.Equal((16L, 4L), (usage.Credits, usage.Generations));
    }

    [Fact]
    public async Task A_retried_refund_replays_and_returns_once()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 3);
        var refund = new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!, [0]);

        var first = await fixture.User(owner).RefundAsync(spaceId, refund);
        var retry = await fixture.User(owner).RefundAsync(spaceId, refund);

        Assert.Equal((4L, 2), (first.RefundedCredits, first.ItemsPending));
        Assert.Equal(first with { Replayed = true }, retry);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 8);
    }

    [Fact]
    public async Task A_reserve_retried_after_its_hold_was_committed_replays_without_holding_again()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var request = new ReserveRequest(QuotaClusterFixture.NewId("hold"), Video);
        var first = await fixture.User(owner).ReserveAsync(spaceId, request);
        await fixture.User(owner).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), first.HoldId!));

        var retry = await fixture.User(owner).ReserveAsync(spaceId, request);

        Assert.Equal(first with { Replayed = true }, retry);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 20, held: 0);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Fact]
    public async Task Administration_commands_replay_and_refuse_reuse()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var spaceId = QuotaClusterFixture.NewId("space");
        var space = fixture.Space(spaceId);
        var create = new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Pro);
        Assert.True((await space.CreateAsync(create)).Succeeded);

        var createAgain = await space.CreateAsync(create);
        var createOther = await space.CreateAsync(create with { Plan = PlanTier.Max });
        Assert.True(createAgain.Succeeded);
        Assert.True(createAgain.Replayed);
        Assert.Equal(RejectionCode.OperationIdReused, createOther.Rejection?.Code);

        var add = new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, member, SpaceRole.Member);
        Assert.False((await space.AddMemberAsync(add)).Replayed);
        var addAgain = await space.AddMemberAsync(add);
        var addOther = await space.AddMemberAsync(add with { Role = SpaceRole.Admin });
        Assert.True(addAgain.Replayed);
        Assert.Equal(RejectionCode.OperationIdReused, addOther.Rejection?.Code);
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Member)], await fixture.User(member).GetSpacesAsync());

        var plan = new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Max);
        Assert.True((await space.ChangePlanAsync(plan)).Succeeded);
        var planAgain = await space.ChangePlanAsync(plan);
        var planOther = await space.ChangePlanAsync(plan with { Plan = PlanTier.Ultra });
        Assert.True(planAgain.Replayed);
        Assert.Equal(RejectionCode.OperationIdReused, planOther.Rejection?.Code);

        // An id is one operation, whatever its kind: a reserve may not reuse the plan change's id.
        var reserve = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(plan.OperationId, Shadows));
        Assert.Equal(RejectionCode.OperationIdReused, reserve.Rejection?.Code);

        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((PlanTier.Max, 1_500L, 2), (balance.Plan, balance.Allowance, balance.Members));
        balance.AssertPool(1_500, used: 0, held: 0);
        Assert.Equal(
            new[] { new SpaceMember(member, SpaceRole.Member), new SpaceMember(owner, SpaceRole.Owner) }.OrderBy(m => m.UserId, StringComparer.Ordinal),
            await space.GetMembersAsync());
    }

    [Fact]
    public async Task A_retry_within_the_retention_window_replays_however_busy_the_Space_was_meanwhile()
    {
        // 5,200 other operation ids and 2,600 closed holds, all well within the 24-hour retention window.
        const int OtherFlows = 2_600;
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, owner, 1_000_000);
        var user = fixture.User(owner);
        var reserve = new ReserveRequest(QuotaClusterFixture.NewId("hold"), Video);
        var reserved = await user.ReserveAsync(spaceId, reserve);
        var commit = new SettleRequest(QuotaClusterFixture.NewId("op"), reserved.HoldId!);
        var committed = await user.CommitAsync(spaceId, commit);
        Assert.Equal(20, committed.CommittedCredits);

        using (var gate = new SemaphoreSlim(64))
        {
            await Task.WhenAll(Enumerable.Range(0, OtherFlows).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    var other = await user.ReserveAsync(spaceId, new ReserveRequest($"{reserve.OperationId}-other-{i}", Shadows));
                    Assert.True(other.Succeeded, other.Rejection?.ToString());
                    var refunded = await user.RefundAsync(spaceId, new SettleRequest($"{reserve.OperationId}-other-{i}-r", other.HoldId!));
                    Assert.Equal(1, refunded.RefundedCredits);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        var reserveRetry = await user.ReserveAsync(spaceId, reserve);
        var commitRetry = await user.CommitAsync(spaceId, commit);

        // Charged once (a retry that is decided afresh would hold and charge the 20 credits a second time) ...
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(1_000_000, used: 20, held: 0);
        Assert.Equal(0, balance.OpenHolds);

        // ... and each retry returns the first outcome.
        Assert.Equal(reserved with { Replayed = true }, reserveRetry);
        Assert.Equal(committed with { Replayed = true }, commitRetry);
    }

    [Fact]
    public async Task A_removal_replayed_after_the_user_was_added_back_does_not_remove_again()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner, null, member);
        var remove = new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, member);
        Assert.True((await fixture.Space(spaceId).RemoveMemberAsync(remove)).Succeeded);
        await fixture.AddMemberAsync(spaceId, owner, member, SpaceRole.Admin);

        var replay = await fixture.Space(spaceId).RemoveMemberAsync(remove);

        Assert.True(replay.Replayed);
        Assert.Contains(new SpaceMember(member, SpaceRole.Admin), await fixture.Space(spaceId).GetMembersAsync());
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Admin)], await fixture.User(member).GetSpacesAsync());
        await fixture.SpendAsync(member, spaceId, Shadows);
    }
}
