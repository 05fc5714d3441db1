namespace QuotaGrains.Tests.Usage;

/// <summary>The usage page's queries through <see cref="Client.IQuotaClient"/>: the Space summary, the cycle history
/// across renewals and the ledger of one cycle, paged.</summary>
public sealed class UsageQueryTests(UsageClusterFixture fixture) : IClassFixture<UsageClusterFixture>
{
    private static readonly GenerationSpec ModelHd = new("virtual-model", MediaKind.Image, ResolutionTier.Hd); // 8
    private static readonly GenerationSpec ModelVideo = new("virtual-model", MediaKind.Video);                // 20
    private static readonly GenerationSpec Shadows = new("ai-shadows");                                       // 1

    [Fact]
    public async Task Summary_shows_the_pool_usage_by_member_feature_and_media_and_the_forecast_exactly()
    {
        var alice = UsageClusterFixture.NewId("alice");
        var bob = UsageClusterFixture.NewId("bob");
        var created = fixture.Time.GetUtcNow();
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, alice, null, bob);

        fixture.AdvanceTo(created.AddHours(1));
        await fixture.SpendAsync(alice, spaceId, ModelHd, 2);     // 16, 2 images
        await fixture.SpendAsync(bob, spaceId, Shadows, 4);       // 4, 4 images
        await fixture.SpendAsync(bob, spaceId, ModelVideo);       // 20, 1 video
        await using (var failed = await fixture.Quota.ReserveAsync(bob, spaceId, ModelHd))
        {
            Assert.True((await failed.RefundAsync()).Succeeded); // refunded: not usage
        }

        fixture.AdvanceTo(created.AddHours(8));
        var held = await fixture.Quota.ReserveAsync(bob, spaceId, Shadows, 3); // held: 3
        Assert.True(held.Succeeded);

        var summary = await fixture.Quota.GetSummaryAsync(spaceId);

        Assert.NotNull(summary);
        Assert.Equal(
            (spaceId, PlanTier.Pro, (PlanTier?)null, BillingCadence.Monthly, created, created.AddMonths(1), 1),
            (summary.SpaceId, summary.Plan, summary.PendingPlan, summary.Cadence, summary.CycleStart, summary.NextRenewal, summary.CatalogVersion));
        Assert.Equal((500L, 40L, 3L, 457L, 8.0, 7L), (summary.Allowance, summary.Used, summary.Held, summary.Available, summary.PercentUsed, summary.Generations));
        Assert.Equal((1, 2, created.AddHours(8)), (summary.OpenHolds, summary.Members, summary.AsOf));
        Assert.Equal(new Dictionary<string, UsageTotals> { [alice] = new(16, 2), [bob] = new(24, 5) }, summary.ByMember);
        Assert.Equal(new Dictionary<string, UsageTotals> { ["virtual-model"] = new(36, 3), ["ai-shadows"] = new(4, 4) }, summary.ByFeature);
        Assert.Equal(new Dictionary<MediaKind, UsageTotals> { [MediaKind.Image] = new(20, 6), [MediaKind.Video] = new(20, 1) }, summary.ByMedia);
        Assert.Empty(summary.ThresholdsCrossed);

        // 40 in 8 h: 5 an hour; 457 left: 91.4 h more, at 8 h + 91 h 24 min into the cycle.
        Assert.Equal(new ExhaustionForecast(ForecastKind.RunsOut, 5, created.AddHours(99).AddMinutes(24)), summary.Forecast);

        await held.RefundAsync();
    }

    [Fact]
    public async Task Summary_of_a_Space_that_does_not_exist_is_null() =>
        Assert.Null(await fixture.Quota.GetSummaryAsync(UsageClusterFixture.NewId("nowhere")));

    [Fact]
    public async Task History_keeps_every_cycle_across_thirteen_renewals_newest_first()
    {
        var owner = UsageClusterFixture.NewId("owner");
        var created = fixture.Time.GetUtcNow();
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);

        // Cycle k spends k + 1 credits, then the clock moves to its renewal: 13 renewals, 14 cycles.
        for (var k = 0; k <= 13; k++)
        {
            await fixture.SpendAsync(owner, spaceId, Shadows, k + 1);
            if (k < 13)
            {
                fixture.AdvanceTo(created.AddMonths(k + 1));
            }
        }

        var usage = await fixture.Quota.GetUsageAsync(spaceId);

        Assert.NotNull(usage);
        Assert.Equal(14, usage.Count);
        for (var i = 0; i < usage.Count; i++)
        {
            var k = 13 - i;
            var cycle = usage[i];
            Assert.Equal(
                (created.AddMonths(k), created.AddMonths(k + 1), 500L, k + 1L, k + 1L),
                (cycle.CycleStart, cycle.CycleEnd, cycle.Allowance, cycle.Credits, cycle.Generations));
            Assert.Equal(new Dictionary<string, UsageTotals> { [owner] = new(k + 1, k + 1) }, cycle.ByMember);
        }

        var summary = await fixture.Quota.GetSummaryAsync(spaceId);
        Assert.Equal((created.AddMonths(13), 14L), (summary!.CycleStart, summary.Used));
    }

    [Fact]
    public async Task Ledger_of_one_past_cycle_comes_in_pages_through_the_client()
    {
        var owner = UsageClusterFixture.NewId("owner");
        var created = fixture.Time.GetUtcNow();
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, owner);
        await fixture.SpendAsync(owner, spaceId, Shadows, 2);
        fixture.AdvanceTo(created.AddMonths(1));
        await fixture.SpendAsync(owner, spaceId, Shadows, 3);
        await fixture.SpendAsync(owner, spaceId, ModelHd);
        fixture.AdvanceTo(created.AddMonths(2));
        await fixture.SpendAsync(owner, spaceId, Shadows, 4);

        var usage = await fixture.Quota.GetUsageAsync(spaceId);
        var cycle = usage![1];
        Assert.Equal((created.AddMonths(1), created.AddMonths(2), 11L), (cycle.CycleStart, cycle.CycleEnd, cycle.Credits));

        var pages = new List<LedgerPage>();
        var query = new LedgerQuery(From: cycle.CycleStart, To: cycle.CycleEnd, PageSize: 2);
        while (true)
        {
            var page = await fixture.Quota.GetLedgerAsync(spaceId, query);
            pages.Add(page);
            if (page.NextAfterSequence is not { } after)
            {
                break;
            }

            query = query with { AfterSequence = after };
        }

        // The renewal that opened the cycle (at its start) and its two spends; not the renewal at its end.
        var entries = pages.SelectMany(p => p.Entries).ToList();
        Assert.Equal([2, 2, 1], pages.Select(p => p.Entries.Count));
        Assert.Equal(["renewed", "reserved", "committed", "reserved", "committed"], entries.Select(e => e.Kind));
        Assert.Equal([500L, 3, 3, 8, 8], entries.Select(e => e.Credits));
        Assert.Equal(cycle.CycleStart, entries[0].At);
        Assert.All(entries, e => Assert.True(e.At >= cycle.CycleStart && e.At < cycle.CycleEnd));
        Assert.Equal(Enumerable.Range((int)entries[0].Sequence, 5).Select(s => (long)s), entries.Select(e => e.Sequence));
        Assert.Equal(cycle.Credits, entries.Where(e => e.Kind == "committed").Sum(e => e.Credits));
    }
}
