using static QuotaGrains.Tests.Cluster.ClusterTestExtensions;

namespace QuotaGrains.Tests.Cluster;

/// <summary>Usage per cycle by member, feature and media kind; 50/80/100 % notifications once each per cycle.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class UsageAndNotificationTests(QuotaClusterFixture fixture)
{
    [Fact]
    public async Task Usage_shows_committed_credits_and_generations_by_member_feature_and_media()
    {
        var alice = QuotaClusterFixture.NewId("alice");
        var bob = QuotaClusterFixture.NewId("bob");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, alice, null, bob);
        var user = fixture.User(bob);

        await fixture.SpendAsync(alice, spaceId, VirtualModelHd);                                          // 8, 1 image
        await fixture.SpendAsync(alice, spaceId, Video);                                                   // 20, 1 video
        await fixture.SpendAsync(alice, spaceId, new GenerationSpec("virtual-model", MediaKind.Video));    // 20, 1 video
        var batch = await fixture.ReserveOkAsync(bob, spaceId, Recolor, 3);                                // 3 × 4
        await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!, [0, 2]));
        await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), batch.HoldId!, [1]));
        var failed = await fixture.ReserveOkAsync(bob, spaceId, Shadows);                                  // refunded: not usage
        await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), failed.HoldId!));
        await fixture.ReserveOkAsync(bob, spaceId, Shadows, 2);                                            // held: not usage
        await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), BackgroundRemoval)); // free: not usage

        var balance = await fixture.BalanceAsync(spaceId);
        var usage = await fixture.Space(spaceId).GetUsageAsync() ?? throw new InvalidOperationException("no such Space");

        balance.AssertPool(500, used: 56, held: 2);
        var current = Assert.Single(usage);
        Assert.Equal((balance.CycleStart, balance.NextRenewal, 500L), (current.CycleStart, current.CycleEnd, current.Allowance));
        Assert.Equal((56L, 5L), (current.Credits, current.Generations));
        Assert.Equal(
            new Dictionary<string, UsageTotals> { [alice] = new(48, 3), [bob] = new(8, 2) },
            current.ByMember);
        Assert.Equal(
            new Dictionary<string, UsageTotals> { ["virtual-model"] = new(28, 2), ["ai-video"] = new(20, 1), ["recolor"] = new(8, 2) },
            current.ByFeature);
        Assert.Equal(
            new Dictionary<MediaKind, UsageTotals> { [MediaKind.Image] = new(16, 3), [MediaKind.Video] = new(40, 2) },
            current.ByMedia);
        Assert.Empty(current.ThresholdsCrossed);
        Assert.Empty(await fixture.Space(spaceId).GetNotificationsAsync());
    }

    [Fact]
    public async Task Feature_names_are_counted_together_whatever_their_case()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        await fixture.SpendAsync(owner, spaceId, new GenerationSpec("Recolor"));
        await fixture.SpendAsync(owner, spaceId, new GenerationSpec("RECOLOR"));

        var usage = (await fixture.Space(spaceId).GetUsageAsync())![0];
        Assert.Equal(new Dictionary<string, UsageTotals> { ["recolor"] = new(8, 2) }, usage.ByFeature);
    }

    [Fact]
    public async Task Fifty_eighty_and_one_hundred_percent_are_each_notified_once()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, owner, 100);
        var space = fixture.Space(spaceId);
        var cycleStart = (await fixture.BalanceAsync(spaceId)).CycleStart;

        await fixture.SpendAsync(owner, spaceId, Shadows, 49);
        Assert.Empty(await space.GetNotificationsAsync());

        // A hold at 50 % is not usage: only commits count.
        var held = await fixture.ReserveOkAsync(owner, spaceId, Shadows);
        Assert.Empty(await space.GetNotificationsAsync());
        await fixture.User(owner).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), held.HoldId!));
        var at50 = fixture.Time.GetUtcNow();
        Assert.Equal([new UsageNotification(spaceId, cycleStart, 50, 50, 100, at50)], await space.GetNotificationsAsync());

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        await fixture.SpendAsync(owner, spaceId, Shadows, 29);
        Assert.Single(await space.GetNotificationsAsync());
        await fixture.SpendAsync(owner, spaceId, Shadows);
        var at80 = fixture.Time.GetUtcNow();

        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        await fixture.SpendAsync(owner, spaceId, Recolor, 5);
        var at100 = fixture.Time.GetUtcNow();

        var notifications = await space.GetNotificationsAsync();
        Assert.Equal(
            [
                new UsageNotification(spaceId, cycleStart, 50, 50, 100, at50),
                new UsageNotification(spaceId, cycleStart, 80, 80, 100, at80),
                new UsageNotification(spaceId, cycleStart, 100, 100, 100, at100),
            ],
            notifications);
        Assert.Equal([50, 80, 100], (await space.GetUsageAsync())![0].ThresholdsCrossed);
        (await fixture.BalanceAsync(spaceId)).AssertPool(100, used: 100, held: 0);
    }

    [Fact]
    public async Task One_commit_that_crosses_several_thresholds_notifies_each_of_them_once()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);
        var cycleStart = (await fixture.BalanceAsync(spaceId)).CycleStart;

        await fixture.SpendAsync(owner, spaceId, Recolor, 21); // 84 of 100
        var at = fixture.Time.GetUtcNow();
        await fixture.SpendAsync(owner, spaceId, Shadows, 10);  // 94: no new threshold

        Assert.Equal(
            [new UsageNotification(spaceId, cycleStart, 50, 84, 100, at), new UsageNotification(spaceId, cycleStart, 80, 84, 100, at)],
            await fixture.Space(spaceId).GetNotificationsAsync());
        Assert.Equal([50, 80], (await fixture.Space(spaceId).GetUsageAsync())![0].ThresholdsCrossed);
    }

    [Fact]
    public async Task Thresholds_are_notified_again_in_the_next_cycle_and_the_past_cycle_is_kept()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, owner);
        var first = await fixture.BalanceAsync(spaceId);
        await fixture.SpendAsync(owner, spaceId, Video, 3); // 60 %
        var firstAt = fixture.Time.GetUtcNow();

        fixture.AdvanceTo(first.NextRenewal);
        var renewed = await fixture.BalanceAsync(spaceId);
        renewed.AssertPool(100, used: 0, held: 0);
        await fixture.SpendAsync(owner, spaceId, Video, 3);
        var secondAt = fixture.Time.GetUtcNow();

        Assert.Equal(
            [new UsageNotification(spaceId, first.CycleStart, 50, 60, 100, firstAt), new UsageNotification(spaceId, renewed.CycleStart, 50, 60, 100, secondAt)],
            await fixture.Space(spaceId).GetNotificationsAsync());
        var usage = await fixture.Space(spaceId).GetUsageAsync() ?? throw new InvalidOperationException("no such Space");
        Assert.Equal(2, usage.Count);
        Assert.Equal((renewed.CycleStart, 60L, 3L), (usage[0].CycleStart, usage[0].Credits, usage[0].Generations));
        Assert.Equal((first.CycleStart, first.NextRenewal, 60L, 3L), (usage[1].CycleStart, usage[1].CycleEnd, usage[1].Credits, usage[1].Generations));
        Assert.Equal(new Dictionary<string, UsageTotals> { [owner] = new(60, 3) }, usage[1].ByMember);
        Assert.Equal([50], usage[1].ThresholdsCrossed);
    }

    [Fact]
    public async Task Every_charge_refund_and_plan_change_is_a_ledger_entry_in_order()
    {
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        var user = fixture.User(owner);
        var charged = await fixture.ReserveOkAsync(owner, spaceId, VirtualModelHd);
        await user.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), charged.HoldId!));
        var failed = await fixture.ReserveOkAsync(owner, spaceId, Recolor, 2);
        await user.RefundAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), failed.HoldId!));
        await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(QuotaClusterFixture.NewId("op"), owner, PlanTier.Max));
        await user.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), Shadows, 0)); // refused: no entry

        var ledger = await fixture.LedgerAsync(spaceId);

        Assert.Equal(
            [("created", 500L, (string?)null), ("reserved", 8L, charged.HoldId), ("committed", 8L, charged.HoldId), ("reserved", 8L, failed.HoldId), ("refunded", 8L, failed.HoldId), ("plan-upgraded", 1_500L, null)],
            ledger.Select(e => (e.Kind, e.Credits, e.HoldId)));
        Assert.Equal(Enumerable.Range(1, ledger.Count).Select(i => (long)i), ledger.Select(e => e.Sequence));
    }
}
