using QuotaGrains.Client;
using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>The client a generation server uses: holds that refund unless committed, RunAsync, typed rejections.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class QuotaClientTests(QuotaClusterFixture fixture)
{
    private IQuotaClient Quota => fixture.Quota;

    [Fact]
    public async Task A_hold_disposed_without_commit_is_refunded()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        await using (var hold = await Quota.ReserveAsync(owner, spaceId, VirtualModelHd))
        {
            Assert.True(hold.Succeeded, hold.Rejection?.ToString());
            Assert.Equal((8L, 1), (hold.Credits, hold.ItemsPending));
            (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 8);
        }

        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Fact]
    public async Task A_committed_hold_is_charged_once_and_disposing_it_changes_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        await using (var hold = await Quota.ReserveAsync(owner, spaceId, Recolor))
        {
            var committed = await hold.CommitAsync();
            Assert.Equal((4L, 0), (committed.CommittedCredits, hold.ItemsPending));
        }

        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 4, held: 0);
    }

    [Fact]
    public async Task An_exception_inside_await_using_refunds_the_hold()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var heldInside = -1L;

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var hold = await Quota.ReserveAsync(owner, spaceId, Video);
            heldInside = (await fixture.BalanceAsync(spaceId)).Held;
            throw new InvalidOperationException("generation server fell over");
        });

        Assert.Equal("generation server fell over", thrown.Message);
        Assert.Equal(20, heldInside);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
    }

    [Fact]
    public async Task RunAsync_commits_when_the_generation_succeeds()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var heldDuring = -1L;

        var run = await Quota.RunAsync(owner, spaceId, VirtualModelHd, async _ =>
        {
            heldDuring = (await fixture.BalanceAsync(spaceId)).Held;
            return "image-bytes";
        });

        Assert.True(run.Succeeded, run.Rejection?.ToString());
        Assert.Equal("image-bytes", run.Value);
        Assert.Equal(8, run.Reservation.Credits);
        Assert.Equal(8, heldDuring);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
        Assert.Equal(new UsageTotals(8, 1), (await Quota.GetUsageAsync(spaceId))![0].ByMember[owner]);
    }

    [Fact]
    public async Task RunAsync_refunds_and_rethrows_when_the_generation_throws()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        var thrown = await Assert.ThrowsAsync<TimeoutException>(() =>
            Quota.RunAsync<string>(owner, spaceId, Video, _ => throw new TimeoutException("model timed out")));

        Assert.Equal("model timed out", thrown.Message);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
        Assert.Equal(0, (await Quota.GetUsageAsync(spaceId))![0].Generations);
    }

    [Fact]
    public async Task RunAsync_refunds_when_the_token_is_cancelled_during_the_generation()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        using var cancellation = new CancellationTokenSource();
        var heldDuring = -1L;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Quota.RunAsync(owner, spaceId, Recolor, async token =>
        {
            heldDuring = (await fixture.BalanceAsync(spaceId)).Held;
            await cancellation.CancelAsync();
            token.ThrowIfCancellationRequested();
            return 42;
        }, cancellationToken: cancellation.Token));

        Assert.Equal(4, heldDuring);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
    }

    [Fact]
    public async Task RunAsync_refused_for_credits_runs_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);
        await fixture.SpendAsync(owner, spaceId, Video, 5);
        var ran = false;

        var run = await Quota.RunAsync(owner, spaceId, Shadows, _ =>
        {
            ran = true;
            return Task.FromResult(1);
        });

        Assert.False(ran);
        Assert.False(run.Succeeded);
        Assert.Equal(RejectionCode.InsufficientCredits, run.Rejection?.Code);
        Assert.Equal((0L, 1L), (run.Rejection!.Available, run.Rejection.Required));
        Assert.Equal(0, run.Value);
        (await fixture.BalanceAsync(spaceId)).AssertPool(100, used: 100, held: 0);
    }

    [Fact]
    public async Task A_batch_hold_commits_some_items_and_dispose_refunds_the_rest()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        await using (var hold = await Quota.ReserveAsync(owner, spaceId, Recolor, count: 4))
        {
            Assert.Equal((16L, 4), (hold.Credits, hold.ItemsPending));
            var committed = await hold.CommitAsync([0, 2]);
            Assert.Equal((8L, 2), (committed.CommittedCredits, hold.ItemsPending));
            var refunded = await hold.RefundAsync([3]);
            Assert.Equal((4L, 1), (refunded.RefundedCredits, hold.ItemsPending));
            (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 4);
        }

        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 8, held: 0);
        Assert.Equal(0, balance.OpenHolds);
        var usage = (await Quota.GetUsageAsync(spaceId))![0];
        Assert.Equal((8L, 2L), (usage.Credits, usage.Generations));
    }

    [Fact]
    public async Task A_free_feature_succeeds_with_no_credits_and_nothing_to_settle()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);

        await using (var hold = await Quota.ReserveAsync(owner, spaceId, BackgroundRemoval))
        {
            Assert.True(hold.Succeeded, hold.Rejection?.ToString());
            Assert.True(hold.Reservation.IsFree);
            Assert.Null(hold.HoldId);
            Assert.Equal((0L, 0), (hold.Credits, hold.ItemsPending));
            var settled = await hold.CommitAsync();
            Assert.True(settled.Succeeded);
            Assert.Equal(0, settled.CommittedCredits);
        }

        var run = await Quota.RunAsync(owner, spaceId, BackgroundRemoval, _ => Task.FromResult("cut-out"));
        Assert.True(run.Reservation.IsFree);
        Assert.Equal("cut-out", run.Value);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(100, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
        Assert.Equal(0, (await Quota.GetUsageAsync(spaceId))![0].Generations);
    }

    [Fact]
    public async Task A_free_feature_is_still_refused_to_a_non_member()
    {
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, QuotaClusterFixture.NewId("owner"));

        await using var hold = await Quota.ReserveAsync(QuotaClusterFixture.NewId("stranger"), spaceId, BackgroundRemoval);

        Assert.Equal(RejectionCode.NotAMember, hold.Rejection?.Code);
        await Assert.ThrowsAsync<InvalidOperationException>(() => hold.CommitAsync());
    }

    [Fact]
    public async Task Invalid_requests_are_typed_rejections_and_change_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        QuotaHold[] holds =
        [
            await Quota.ReserveAsync(owner, spaceId, Recolor, count: 0),
            await Quota.ReserveAsync(owner, spaceId, Recolor, count: 1_001),
            await Quota.ReserveAsync(owner, new string('s', 129), Recolor),
            await Quota.ReserveAsync(new string('u', 129), spaceId, Recolor),
        ];

        foreach (var hold in holds)
        {
            Assert.False(hold.Succeeded);
            Assert.Equal(RejectionCode.InvalidRequest, hold.Rejection?.Code);
            Assert.Null(hold.HoldId);
            Assert.Equal(0, hold.ItemsPending);
            await hold.DisposeAsync();
        }

        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Fact]
    public async Task Invalid_ids_sent_to_the_engine_are_typed_rejections()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);

        ReserveResult[] reserves =
        [
            await user.ReserveAsync(spaceId, new ReserveRequest("", Recolor)),
            await user.ReserveAsync(spaceId, new ReserveRequest("  ", Recolor)),
            await user.ReserveAsync(spaceId, new ReserveRequest(new string('o', 129), Recolor)),
        ];
        SettleResult[] settles =
        [
            await user.CommitAsync(spaceId, new SettleRequest("", "hold")),
            await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), "")),
            await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), new string('h', 129))),
        ];
        CommandResult[] commands =
        [
            await Quota.AddMemberAsync(spaceId, new AddMemberRequest("", owner, "someone", SpaceRole.Member)),
            await Quota.AddMemberAsync(spaceId, new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, "", SpaceRole.Member)),
            await Quota.ChangePlanAsync(spaceId, new ChangePlanRequest(new string('o', 129), owner, PlanTier.Max)),
            await Quota.CreateSpaceAsync(new string('s', 129), new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Pro)),
        ];

        Assert.All(reserves, r => Assert.Equal(RejectionCode.InvalidRequest, r.Rejection?.Code));
        Assert.All(settles, r => Assert.Equal(RejectionCode.InvalidRequest, r.Rejection?.Code));
        Assert.All(commands, r => Assert.Equal(RejectionCode.InvalidRequest, r.Rejection?.Code));
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal((PlanTier.Pro, 1, 0), (balance.Plan, balance.Members, balance.OpenHolds));
    }

    [Fact]
    public async Task The_client_refuses_empty_ids_as_argument_errors_before_calling_the_engine()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        await Assert.ThrowsAsync<ArgumentException>(() => Quota.ReserveAsync("", spaceId, Recolor));
        await Assert.ThrowsAsync<ArgumentException>(() => Quota.ReserveAsync(owner, " ", Recolor));
        await Assert.ThrowsAsync<ArgumentException>(() => Quota.ReserveAsync(owner, spaceId, Recolor, operationId: ""));
        await Assert.ThrowsAsync<ArgumentException>(() => Quota.ReserveAsync(owner, spaceId, Recolor, operationId: new string('o', 97)));

        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
    }

    [Fact]
    public async Task A_caller_retry_with_its_own_operation_id_is_charged_once()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var operationId = QuotaClusterFixture.NewId("request");

        await using var first = await Quota.ReserveAsync(owner, spaceId, VirtualModelHd, operationId: operationId);
        await using var retry = await Quota.ReserveAsync(owner, spaceId, VirtualModelHd, operationId: operationId);
        Assert.False(first.Reservation.Replayed);
        Assert.True(retry.Reservation.Replayed);
        Assert.Equal(operationId, retry.HoldId);

        // Both copies commit: the second is the same derived operation and replays.
        var firstCommit = await first.CommitAsync();
        var retryCommit = await retry.CommitAsync();

        Assert.False(firstCommit.Replayed);
        Assert.True(retryCommit.Replayed);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
    }

    [Fact]
    public async Task Settling_a_fully_settled_hold_again_reports_ItemAlreadySettled_and_charges_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        await using var hold = await Quota.ReserveAsync(owner, spaceId, Recolor, count: 2);
        var first = await hold.CommitAsync();
        Assert.Equal((8L, 0), (first.CommittedCredits, first.ItemsPending));

        // Each call on the hold is a new operation: the hold is closed, its items settled.
        var commitAgain = await hold.CommitAsync();
        var refundAfter = await hold.RefundAsync([1]);

        Assert.Equal(RejectionCode.ItemAlreadySettled, commitAgain.Rejection?.Code);
        Assert.Equal(hold.HoldId, commitAgain.HoldId);
        Assert.Equal(RejectionCode.ItemAlreadySettled, refundAfter.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);

        // A second copy of the hold (the caller retried the reserve with its operation id) learns from a whole-hold
        // settle that nothing is pending, so that disposing it sends nothing more.
        await using var copy = await Quota.ReserveAsync(owner, spaceId, Recolor, count: 2, operationId: hold.HoldId);
        Assert.True(copy.Reservation.Replayed);
        Assert.Equal(2, copy.ItemsPending);
        var copyRefund = await copy.RefundAsync();
        Assert.Equal(RejectionCode.ItemAlreadySettled, copyRefund.Rejection?.Code);
        Assert.Equal(0, copy.ItemsPending);

        // A retry of the first commit (same operation id, as the client derives it) replays it.
        var retry = await fixture.User(owner).CommitAsync(spaceId, new SettleRequest($"{hold.HoldId}:c1", hold.HoldId!));
        Assert.Equal(first with { Replayed = true }, retry);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
    }

    [Fact]
    public async Task A_hold_committed_after_it_expired_reports_HoldExpired_and_charges_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        await using var hold = await Quota.ReserveAsync(owner, spaceId, Video);
        fixture.AdvanceTo(hold.Reservation.ExpiresAt!.Value);
        var late = await hold.CommitAsync();

        Assert.Equal(RejectionCode.HoldExpired, late.Rejection?.Code);
        Assert.Equal(0, hold.ItemsPending);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
    }

    [Fact]
    public async Task The_client_administers_and_reads_a_Space()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var member = QuotaClusterFixture.NewId("member");
        var spaceId = QuotaClusterFixture.NewId("space");

        Assert.Null(await Quota.GetBalanceAsync(spaceId));
        Assert.Null(await Quota.GetUsageAsync(spaceId));
        Assert.True((await Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Enterprise, CustomAllowance: 777))).Succeeded);
        Assert.True((await Quota.AddMemberAsync(spaceId, new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, member, SpaceRole.Admin))).Succeeded);
        Assert.Equal([new UserSpace(spaceId, SpaceRole.Admin)], await Quota.GetUserSpacesAsync(member));
        Assert.True((await Quota.ChangePlanAsync(spaceId, new ChangePlanRequest(QuotaClusterFixture.NewId("op"), member, PlanTier.Enterprise, 900))).Succeeded);
        Assert.True((await Quota.RemoveMemberAsync(spaceId, new RemoveMemberRequest(QuotaClusterFixture.NewId("op"), owner, member))).Succeeded);

        Assert.Empty(await Quota.GetUserSpacesAsync(member));
        var balance = await Quota.GetBalanceAsync(spaceId);
        Assert.NotNull(balance);
        balance.AssertPool(900, used: 0, held: 0);
        Assert.Equal(1, balance.Members);
    }
}
