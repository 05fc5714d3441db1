using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>Batches: reserved all-or-nothing, then each item committed or refunded on its own.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class BatchTests(QuotaClusterFixture fixture)
{
    [Fact]
    public async Task A_batch_that_does_not_fit_reserves_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);
        var start = await fixture.BalanceAsync(spaceId);

        var refused = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Recolor, 26));

        Assert.Equal(RejectionCode.InsufficientCredits, refused.Rejection?.Code);
        Assert.Equal((100L, 104L, start.NextRenewal), (refused.Rejection!.Available, refused.Rejection.Required, refused.Rejection.NextRenewal));
        Assert.Null(refused.HoldId);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(100, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);

        var fits = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Recolor, 25));

        Assert.True(fits.Succeeded, fits.Rejection?.ToString());
        Assert.Equal((25, 4L, 100L, 0L), (fits.Items, fits.UnitCredits, fits.Credits, fits.Available));
        (await fixture.BalanceAsync(spaceId)).AssertPool(100, used: 0, held: 100);
    }

    [Fact]
    public async Task Each_item_is_committed_or_refunded_on_its_own()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);
        var batch = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 6);
        var hold = batch.HoldId!;
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 24);

        var first = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [0, 2]));
        Assert.Equal((8L, 0L, 2, 4), (first.CommittedCredits, first.RefundedCredits, first.ItemsSettled, first.ItemsPending));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 16);

        var failed = await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [1]));
        Assert.Equal((0L, 4L, 1, 3), (failed.CommittedCredits, failed.RefundedCredits, failed.ItemsSettled, failed.ItemsPending));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 12);

        // Items already settled cannot be settled again, and a request naming one settles none of its items.
        var commitAgain = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [0]));
        var refundCommitted = await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [2]));
        var commitRefunded = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [1]));
        var mixed = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [3, 0]));
        Assert.All([commitAgain, refundCommitted, commitRefunded, mixed], r => Assert.Equal(RejectionCode.ItemAlreadySettled, r.Rejection?.Code));
        var unchanged = await fixture.BalanceAsync(spaceId);
        unchanged.AssertPool(500, used: 8, held: 12);
        Assert.Equal(1, unchanged.OpenHolds);

        var third = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [3]));
        Assert.Equal((4L, 1, 2), (third.CommittedCredits, third.ItemsSettled, third.ItemsPending));

        // No item list: everything still pending (items 4 and 5).
        var rest = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold));
        Assert.Equal((8L, 2, 0), (rest.CommittedCredits, rest.ItemsSettled, rest.ItemsPending));
        var final = await fixture.BalanceAsync(spaceId);
        final.AssertPool(500, used: 20, held: 0);
        Assert.Equal(0, final.OpenHolds);
        var usage = (await fixture.Space(spaceId).GetUsageAsync())![0];
        Assert.Equal((20L, 5L), (usage.Credits, usage.Generations));

        var closed = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, [5]));
        Assert.Equal(RejectionCode.ItemAlreadySettled, closed.Rejection?.Code);
    }

    [Fact]
    public async Task Refunding_the_rest_of_a_batch_returns_exactly_the_pending_items()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);
        var batch = await fixture.ReserveOkAsync(owner, spaceId, VirtualModelHd, 5);
        await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!, [4]));

        var rest = await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!));

        Assert.Equal((0L, 32L, 4, 0), (rest.CommittedCredits, rest.RefundedCredits, rest.ItemsSettled, rest.ItemsPending));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 8, held: 0);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1_001)]
    public async Task A_batch_size_out_of_range_is_an_invalid_request(int count)
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, owner, 1_000_000);

        var refused = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows, count));

        Assert.Equal(RejectionCode.InvalidRequest, refused.Rejection?.Code);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(1_000_000, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
    }

    [Fact]
    public async Task A_batch_of_exactly_the_maximum_size_is_accepted()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Max, owner);

        var reserved = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows, 1_000));

        Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
        Assert.Equal((1_000, 1_000L, 500L), (reserved.Items, reserved.Credits, reserved.Available));
        (await fixture.BalanceAsync(spaceId)).AssertPool(1_500, used: 0, held: 1_000);
    }

    [Fact]
    public async Task Malformed_item_lists_are_invalid_requests_and_settle_nothing()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);
        var batch = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 4);
        var hold = batch.HoldId!;

        int[][] lists = [[], [1, 1], [-1], [4], [0, 4]];
        foreach (var items in lists)
        {
            var commit = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, items));
            var refund = await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold, items));
            Assert.Equal(RejectionCode.InvalidRequest, commit.Rejection?.Code);
            Assert.Equal(RejectionCode.InvalidRequest, refund.Rejection?.Code);
        }

        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 16);
        var all = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold));
        Assert.Equal((16L, 4), (all.CommittedCredits, all.ItemsSettled));
    }

    [Fact]
    public async Task A_free_batch_holds_nothing_and_is_not_counted_as_generations()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);

        var free = await fixture.User(owner).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), BackgroundRemoval, 40));

        Assert.True(free.IsFree);
        Assert.Equal((40, 0L, 0L, 100L), (free.Items, free.UnitCredits, free.Credits, free.Available));
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(100, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
        Assert.Equal(0, (await fixture.Space(spaceId).GetUsageAsync())![0].Generations);
    }
}
