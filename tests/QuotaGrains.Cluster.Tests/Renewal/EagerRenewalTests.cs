using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Renewals;
using Orleans.Hosting;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Renewal;

/// <summary>
/// Eager renewals through the renewal index: a Space nobody calls (deactivated, so its own timer is gone) is woken by
/// the index at its renewal second and the renewal is journaled and in its ledger; missed minutes are caught up with
/// one renewal per missed cycle; waking twice renews nothing twice; holds carry over.
/// </summary>
public sealed class EagerRenewalTests(RenewalClusterFixture fixture) : IClassFixture<RenewalClusterFixture>
{
    private RenewalIndex Index => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<RenewalIndex>();

    [Fact]
    public async Task A_Space_nobody_calls_renews_at_its_exact_second_and_not_a_second_earlier()
    {
        var subscribed = fixture.DaysAgoAt(3, 2, 11, 7);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "ana", BillingCadence.Monthly, subscribed);
        var renewal = (await fixture.BalanceAsync(spaceId)).NextRenewal;
        Assert.Equal(subscribed.AddMonths(1), renewal);

        // Written once, at creation: the index grain of the slot (day, minute) holds the Space with its second.
        var key = Index.KeyOf(spaceId, BillingCadence.Monthly, subscribed);
        Assert.StartsWith($"m{subscribed.Day}-0211/", key, StringComparison.Ordinal);
        Assert.Equal(7, (await fixture.Grains.GetGrain<IRenewalSlotGrain>(key).GetSpacesAsync())[spaceId]);
        await fixture.DeactivateAsync(spaceId);

        // The clock hands the minute to the index ahead of time; the index waits for second 7 on a grain timer.
        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(61));
        await fixture.WaitForDispatchAsync(renewal);
        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(1));
        Assert.True(await fixture.StaysInactiveAsync(spaceId, TimeSpan.FromMilliseconds(300)), "woken before its renewal second");
        Assert.True((await fixture.Clock().GetStatusAsync()).DoneThrough <= RenewalSlot.MinuteOf(renewal));

        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);
        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal((renewal, 500L), (renewed.At, renewed.Credits));
        await fixture.WaitForDoneAsync(renewal);

        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((renewal, subscribed.AddMonths(2), 500L, 0L), (balance.CycleStart, balance.NextRenewal, balance.Allowance, balance.Used));
        Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
    }

    [Fact]
    public async Task Minutes_missed_by_the_clock_are_caught_up_with_one_renewal_per_missed_cycle_and_none_twice()
    {
        var subscribed = fixture.DaysAgoAt(2, 9, 30, 15);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "ben", BillingCadence.Weekly, subscribed);
        var first = subscribed.AddDays(7);
        Assert.Equal(first, (await fixture.BalanceAsync(spaceId)).NextRenewal);
        await fixture.DeactivateAsync(spaceId);

        // Five weeks and a few hours pass with no tick at all (an outage): the clock is behind by all those minutes.
        fixture.AdvanceTo(first + TimeSpan.FromDays(35) + TimeSpan.FromHours(3));
        await fixture.WaitUntilWokenAsync(spaceId);
        await fixture.WaitForDoneAsync(first + TimeSpan.FromDays(35));

        var expected = Enumerable.Range(0, 6).Select(k => first.AddDays(7 * k)).ToList();
        var renewals = (await fixture.LedgerAsync(spaceId)).Where(e => e.Kind == "renewed").ToList();
        Assert.Equal(expected, renewals.Select(e => e.At));
        Assert.Equal(renewals.Select(e => e.Sequence).Order(), renewals.Select(e => e.Sequence));

        // The index woke the Space in each of the six minutes (a duplicate wake for all but the first); once more for
        // the first minute, as a late or repeated tick would: nothing is renewed twice.
        var key = Index.KeyOf(spaceId, BillingCadence.Weekly, subscribed);
        var again = await fixture.Grains.GetGrain<IRenewalSlotGrain>(key).WakeAsync(RenewalSlot.MinuteOf(first));
        Assert.True(again.Woken >= 1);
        Assert.Equal(0, again.Moved);
        Assert.Equal(expected, (await fixture.LedgerAsync(spaceId)).Where(e => e.Kind == "renewed").Select(e => e.At));
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((expected[^1], expected[^1].AddDays(7)), (balance.CycleStart, balance.NextRenewal));
    }

    [Fact]
    public async Task Holds_outstanding_at_an_eager_renewal_carry_over_into_the_new_cycle()
    {
        var subscribed = fixture.DaysAgoAt(1, 17, 45, 30);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "cai", BillingCadence.Weekly, subscribed);
        var renewal = subscribed.AddDays(7);
        var user = fixture.Grains.GetGrain<IUserGrain>("cai");
        var spent = await user.ReserveAsync(spaceId, new ReserveRequest(RenewalTestExtensions.NewId("h"), new GenerationSpec("ai-video", MediaKind.Video), 5));
        Assert.True((await user.CommitAsync(spaceId, new SettleRequest(RenewalTestExtensions.NewId("c"), spent.HoldId!))).Succeeded);

        fixture.AdvanceTo(renewal - TimeSpan.FromMinutes(5));
        var open = await user.ReserveAsync(spaceId, new ReserveRequest(RenewalTestExtensions.NewId("h"), new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd), 2));
        Assert.True(open.Succeeded, open.Rejection?.ToString());
        Assert.Equal(renewal + TimeSpan.FromMinutes(10), open.ExpiresAt);
        await fixture.DeactivateAsync(spaceId);

        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(50));
        await fixture.WaitForDispatchAsync(renewal);
        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);

        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal(renewal, renewed.At);
        Assert.Equal("Pro, catalog v1, 16 held carried over", renewed.Detail);
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((500L, 0L, 16L, 1), (balance.Allowance, balance.Used, balance.Held, balance.OpenHolds));

        // Committed after the renewal, the carried hold is charged to the new cycle; the old cycle keeps its 100.
        Assert.Equal(16, (await user.CommitAsync(spaceId, new SettleRequest(RenewalTestExtensions.NewId("c"), open.HoldId!))).CommittedCredits);
        var usage = await fixture.Space(spaceId).GetUsageAsync() ?? throw new InvalidOperationException("no such Space");
        Assert.Equal((16L, 100L), (usage[0].Credits, usage[1].Credits));
        (await fixture.BalanceAsync(spaceId)).AssertPool(500, used: 16, held: 0);
    }

    [Fact]
    public async Task A_Space_registered_after_its_renewal_minute_was_dispatched_is_still_woken_for_it()
    {
        // A weekly subscription made a week ago less 40 seconds renews 40 seconds after the Space is created.
        var renewal = RenewalSlot.MinuteOf(fixture.Time.GetUtcNow()) + TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(20);
        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(40));
        await fixture.WaitForDispatchAsync(renewal);

        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Max, "dov", BillingCadence.Weekly, renewal.AddDays(-7));
        Assert.Equal(renewal, (await fixture.BalanceAsync(spaceId)).NextRenewal);
        await fixture.DeactivateAsync(spaceId);

        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);
        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal((renewal, 1500L), (renewed.At, renewed.Credits));
    }
}

/// <summary>The index activates Spaces 20 seconds ahead of their renewal second (loading from storage is done by then).</summary>
public sealed class PrewarmFixture : RenewalClusterFixture
{
    protected override void Configure(QuotaGrainsOptionsBuilder quota) => quota.ConfigureRenewals(o => o.PrewarmLead = TimeSpan.FromSeconds(20));
}

/// <summary>Warming a Space up ahead of its renewal loads it without renewing it early.</summary>
public sealed class PrewarmRenewalTests(PrewarmFixture fixture) : IClassFixture<PrewarmFixture>
{
    [Fact]
    public async Task A_Space_is_loaded_ahead_of_its_renewal_second_and_renewed_exactly_at_it()
    {
        var subscribed = fixture.DaysAgoAt(4, 13, 14, 15);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "ivo", BillingCadence.Monthly, subscribed);
        var renewal = subscribed.AddMonths(1);
        await fixture.DeactivateAsync(spaceId);

        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(61));
        await fixture.WaitForDispatchAsync(renewal);
        Assert.True(await fixture.StaysInactiveAsync(spaceId, TimeSpan.FromMilliseconds(100)), "warmed up too early");
        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(20));
        await fixture.WaitUntilWokenAsync(spaceId);

        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal(subscribed, (await fixture.BalanceAsync(spaceId)).CycleStart);

        fixture.AdvanceTo(renewal);
        var ledger = await RenewalTestExtensions.PollAsync(() => fixture.LedgerAsync(spaceId), l => l.Any(e => e.Kind == "renewed"));
        Assert.Equal(renewal, Assert.Single(ledger, e => e.Kind == "renewed").At);
        await fixture.WaitForDoneAsync(renewal);
        Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
    }
}
