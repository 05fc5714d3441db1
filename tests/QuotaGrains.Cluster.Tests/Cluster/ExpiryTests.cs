using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>A hold nobody settles within the TTL (15 minutes) goes back to the pool, driven by the fake clock.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class ExpiryTests(QuotaClusterFixture fixture)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(15);

    [Fact]
    public async Task A_hold_is_held_until_one_second_before_the_TTL_and_refunded_at_it()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var reservedAt = fixture.Time.GetUtcNow();
        var hold = await fixture.ReserveOkAsync(owner, spaceId, VirtualModelHd, 2);
        Assert.Equal(reservedAt + Ttl, hold.ExpiresAt);

        fixture.AdvanceTo(hold.ExpiresAt!.Value - TimeSpan.FromSeconds(1));
        var before = await fixture.BalanceAsync(spaceId);
        before.AssertPool(500, used: 0, held: 16);
        Assert.Equal(1, before.OpenHolds);

        fixture.AdvanceTo(hold.ExpiresAt.Value);
        var after = await fixture.BalanceAsync(spaceId);
        after.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, after.OpenHolds);

        var commit = await fixture.User(owner).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));
        var refund = await fixture.User(owner).RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));
        Assert.Equal(RejectionCode.HoldExpired, commit.Rejection?.Code);
        Assert.Equal(hold.HoldId, commit.HoldId);
        Assert.Equal(RejectionCode.HoldExpired, refund.Rejection?.Code);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, (await fixture.Space(spaceId).GetUsageAsync())![0].Generations);
    }

    [Fact]
    public async Task A_settle_one_second_before_the_TTL_still_counts()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Recolor);

        fixture.AdvanceTo(hold.ExpiresAt!.Value - TimeSpan.FromSeconds(1));
        var commit = await fixture.User(owner).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!));

        Assert.Equal(4, commit.CommittedCredits);
        fixture.AdvanceTo(hold.ExpiresAt.Value + TimeSpan.FromMinutes(1));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 4, held: 0);
    }

    [Fact]
    public async Task An_expired_hold_is_refunded_and_recorded_without_anyone_asking()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Video, 3);
        var reserved = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "reserved");
        Assert.Equal((60L, hold.HoldId, 3), (reserved.Credits, reserved.HoldId, reserved.Items));

        // From here on only the ledger is read, which does not advance the Space: only its own timer, following the
        // fake clock, can expire the hold.
        fixture.AdvanceTo(hold.ExpiresAt!.Value + TimeSpan.FromSeconds(1));
        var ledger = await fixture.WaitForLedgerEntryAsync(spaceId, e => e.Kind == "expired");

        var expired = Assert.Single(ledger, e => e.Kind == "expired");
        Assert.Equal((hold.ExpiresAt.Value, 60L, hold.HoldId, 3), (expired.At, expired.Credits, expired.HoldId, expired.Items));
        Assert.True(expired.Sequence > reserved.Sequence);
        var balance = await fixture.BalanceAsync(spaceId);
        balance.AssertPool(500, used: 0, held: 0);
        Assert.Equal(0, balance.OpenHolds);
        Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "expired");
    }

    [Fact]
    public async Task A_Space_reactivated_with_open_holds_still_expires_them_on_its_own()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var hold = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 5);
        await fixture.Cluster.DeactivateAsync(fixture.Space(spaceId));
        Assert.False(fixture.IsActivated(fixture.Space(spaceId)));

        // A fresh activation (from durable state) with nothing due yet.
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 20);
        Assert.True(fixture.IsActivated(fixture.Space(spaceId)));
        fixture.AdvanceTo(hold.ExpiresAt!.Value);
        var ledger = await fixture.WaitForLedgerEntryAsync(spaceId, e => e.Kind == "expired");

        var expired = Assert.Single(ledger, e => e.Kind == "expired");
        Assert.Equal((hold.HoldId, 20L), (expired.HoldId, expired.Credits));
    }

    [Fact]
    public async Task The_unsettled_items_of_a_batch_expire_and_the_settled_ones_stay()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);
        var batch = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 4);
        await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!, [0]));
        await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!, [1]));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 4, held: 8);

        fixture.AdvanceTo(batch.ExpiresAt!.Value);

        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 4, held: 0);
        var late = await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!, [2]));
        Assert.Equal(RejectionCode.HoldExpired, late.Rejection?.Code);
        var usage = (await fixture.Space(spaceId).GetUsageAsync())![0];
        Assert.Equal((4L, 1L), (usage.Credits, usage.Generations));
    }

    [Fact]
    public async Task Holds_expire_one_by_one_at_their_own_instants()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var first = await fixture.ReserveOkAsync(owner, spaceId, Recolor);
        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        var second = await fixture.ReserveOkAsync(owner, spaceId, Video);
        Assert.Equal(first.ExpiresAt + TimeSpan.FromMinutes(5), second.ExpiresAt);

        fixture.AdvanceTo(first.ExpiresAt!.Value);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 20);

        fixture.AdvanceTo(second.ExpiresAt!.Value - TimeSpan.FromSeconds(1));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 20);

        fixture.AdvanceTo(second.ExpiresAt.Value);
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 0, held: 0);
    }
}
