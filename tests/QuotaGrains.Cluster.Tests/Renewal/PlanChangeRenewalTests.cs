using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Renewals;
using Orleans.Hosting;

namespace QuotaGrains.Tests.Renewal;

/// <summary>Plan changes over time, renewed eagerly by the index with nobody calling: an upgrade applies at once and
/// stays, a downgrade and a cancellation apply exactly at the renewal (a cancellation moves the Space to the slot of
/// its creation, where it keeps renewing).</summary>
public sealed class PlanChangeRenewalTests(RenewalClusterFixture fixture) : IClassFixture<RenewalClusterFixture>
{
    private RenewalIndex Index => fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<RenewalIndex>();

    [Fact]
    public async Task An_upgrade_mid_cycle_applies_at_once_and_the_eager_renewal_keeps_it()
    {
        var created = fixture.Time.GetUtcNow();
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Free, "eve");
        var user = fixture.Grains.GetGrain<IUserGrain>("eve");
        var hold = await user.ReserveAsync(spaceId, new ReserveRequest(RenewalTestExtensions.NewId("h"), new GenerationSpec("ai-video", MediaKind.Video), 3));
        Assert.True((await user.CommitAsync(spaceId, new SettleRequest(RenewalTestExtensions.NewId("c"), hold.HoldId!))).Succeeded);

        fixture.AdvanceTo(created + TimeSpan.FromDays(10));
        Assert.True((await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(RenewalTestExtensions.NewId("op"), "eve", PlanTier.Max))).Succeeded);
        var upgraded = await fixture.BalanceAsync(spaceId);
        Assert.Equal((PlanTier.Max, 1500L, 60L, created.AddMonths(1)), (upgraded.Plan, upgraded.Allowance, upgraded.Used, upgraded.NextRenewal));
        await fixture.DeactivateAsync(spaceId);

        var renewal = created.AddMonths(1);
        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(30));
        await fixture.WaitForDispatchAsync(renewal);
        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);

        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal((renewal, 1500L, "Max, catalog v1, 0 held carried over"), (renewed.At, renewed.Credits, renewed.Detail));
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((PlanTier.Max, 1500L, 0L, created.AddMonths(2)), (balance.Plan, balance.Allowance, balance.Used, balance.NextRenewal));
    }

    [Fact]
    public async Task A_downgrade_takes_effect_exactly_at_the_eager_renewal()
    {
        var subscribed = fixture.DaysAgoAt(5, 6, 0, 59);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Max, "fay", BillingCadence.Monthly, subscribed);
        var renewal = subscribed.AddMonths(1);
        Assert.True((await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(RenewalTestExtensions.NewId("op"), "fay", PlanTier.Pro))).Succeeded);

        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(1));
        var before = await fixture.BalanceAsync(spaceId);
        Assert.Equal((PlanTier.Max, (PlanTier?)PlanTier.Pro, 1500L), (before.Plan, before.PendingPlan, before.Allowance));
        await fixture.DeactivateAsync(spaceId);

        await fixture.WaitForDispatchAsync(renewal);
        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);

        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal((renewal, 500L, "Pro, catalog v1, 0 held carried over"), (renewed.At, renewed.Credits, renewed.Detail));
        var after = await fixture.BalanceAsync(spaceId);
        Assert.Equal((PlanTier.Pro, (PlanTier?)null, 500L, renewal), (after.Plan, after.PendingPlan, after.Allowance, after.CycleStart));
    }

    [Fact]
    public async Task A_cancellation_to_Free_moves_the_Space_to_its_creations_monthly_slot_where_it_keeps_renewing_eagerly()
    {
        var created = fixture.Time.GetUtcNow();
        var subscribed = fixture.DaysAgoAt(2, 20, 15, 45);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "gil", BillingCadence.Weekly, subscribed);
        var weekly = Index.KeyOf(spaceId, BillingCadence.Weekly, subscribed);
        Assert.Contains(spaceId, (await fixture.Grains.GetGrain<IRenewalSlotGrain>(weekly).GetSpacesAsync()).Keys);
        Assert.True((await fixture.Space(spaceId).ChangePlanAsync(new ChangePlanRequest(RenewalTestExtensions.NewId("op"), "gil", PlanTier.Free))).Succeeded);
        await fixture.DeactivateAsync(spaceId);

        // At the weekly renewal the cancellation takes effect: Free, monthly from the Space's creation.
        var renewal = subscribed.AddDays(7);
        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(10));
        await fixture.WaitForDispatchAsync(renewal);
        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);
        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal((renewal, 100L), (renewed.At, renewed.Credits));
        await fixture.WaitForDoneAsync(renewal);

        var monthly = Index.KeyOf(spaceId, BillingCadence.Monthly, created);
        Assert.NotEqual(weekly, monthly);
        Assert.Equal(created.Second, (await fixture.Grains.GetGrain<IRenewalSlotGrain>(monthly).GetSpacesAsync())[spaceId]);
        Assert.DoesNotContain(spaceId, (await fixture.Grains.GetGrain<IRenewalSlotGrain>(weekly).GetSpacesAsync()).Keys);
        var free = await fixture.BalanceAsync(spaceId);
        var next = RenewalSchedule.NextAfter(created, BillingCadence.Monthly, renewal);
        Assert.True(next > renewal && next.Day == created.Day && next.TimeOfDay == created.TimeOfDay);
        Assert.Equal((PlanTier.Free, next), (free.Plan, free.NextRenewal));
        await fixture.DeactivateAsync(spaceId);

        fixture.AdvanceTo(next - TimeSpan.FromSeconds(5));
        await fixture.WaitForDispatchAsync(next);
        fixture.AdvanceTo(next);
        await fixture.WaitUntilWokenAsync(spaceId);
        var renewals = (await fixture.LedgerAsync(spaceId)).Where(e => e.Kind == "renewed").ToList();
        Assert.Equal([renewal, next], renewals.Select(e => e.At));
        Assert.Equal([100L, 100L], renewals.Select(e => e.Credits));
    }
}

/// <summary>A second catalog version, effective 20 days after the fixture's start: Ultra = Max × 2 from then on.</summary>
public sealed class CatalogChangeFixture : RenewalClusterFixture
{
    public static readonly DateTimeOffset Version2From = Start + TimeSpan.FromDays(20);

    protected override void Configure(QuotaGrainsOptionsBuilder quota) => quota.ConfigurePlanCatalog(o => o.Versions =
    [
        new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = DateTimeOffset.MinValue },
        new PlanCatalogVersionOptions { Version = 2, EffectiveFrom = Version2From, UltraMultiplier = 2m },
    ]);
}

/// <summary>A catalog version published for the future applies to a Space from its first renewal at or after it, at
/// that renewal's second, renewed eagerly; never mid-cycle.</summary>
public sealed class CatalogChangeRenewalTests(CatalogChangeFixture fixture) : IClassFixture<CatalogChangeFixture>
{
    [Fact]
    public async Task A_catalog_version_effective_in_the_future_applies_at_the_first_eager_renewal_after_it()
    {
        var created = fixture.Time.GetUtcNow();
        Assert.True(created < CatalogChangeFixture.Version2From);
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Ultra, "hal", BillingCadence.Monthly, created - TimeSpan.FromDays(3) + TimeSpan.FromSeconds(17));
        var renewal = (await fixture.BalanceAsync(spaceId)).NextRenewal;
        Assert.True(renewal > CatalogChangeFixture.Version2From);

        // In effect from the middle of the cycle, version 2 does not change it.
        fixture.AdvanceTo(CatalogChangeFixture.Version2From + TimeSpan.FromHours(1));
        var mid = await fixture.BalanceAsync(spaceId);
        Assert.Equal((1, 2550L), (mid.CatalogVersion, mid.Allowance));
        await fixture.DeactivateAsync(spaceId);

        fixture.AdvanceTo(renewal - TimeSpan.FromSeconds(20));
        await fixture.WaitForDispatchAsync(renewal);
        fixture.AdvanceTo(renewal);
        await fixture.WaitUntilWokenAsync(spaceId);

        var renewed = Assert.Single(await fixture.LedgerAsync(spaceId), e => e.Kind == "renewed");
        Assert.Equal((renewal, 3000L, "Ultra, catalog v2, 0 held carried over"), (renewed.At, renewed.Credits, renewed.Detail));
        var balance = await fixture.BalanceAsync(spaceId);
        Assert.Equal((2, 3000L, renewal), (balance.CatalogVersion, balance.Allowance, balance.CycleStart));
    }
}
