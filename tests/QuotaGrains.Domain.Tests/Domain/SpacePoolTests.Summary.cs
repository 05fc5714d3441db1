namespace QuotaGrains.Tests.Domain;

/// <summary>The summary a usage page reads: every figure of the cycle, exactly.</summary>
public sealed partial class SpacePoolTests
{
    [Fact]
    public void Summary_has_the_pool_the_usage_by_member_feature_and_media_and_the_forecast()
    {
        CreateTeamSpace();
        Now = T0.AddHours(1);
        Ok(Reserve("r1", new GenerationSpec("virtual-model"), 3));                      // owner: 12, 3 images
        Ok(Commit("c1", "r1"));
        Spend("s1", 5, user: "member");                                                  // member: 5, 5 images
        Ok(Reserve("v1", new GenerationSpec("virtual-model", MediaKind.Video), user: "member")); // member: 20, 1 video
        Ok(Commit("v1-commit", "v1", user: "member"));
        Ok(Reserve("f1", Recolor));                                                      // refunded: not usage
        Ok(Refund("f1-refund", "f1"));
        var asOf = T0.AddHours(10);
        Now = asOf.AddMinutes(-5);
        Ok(Reserve("h1", Shadows, 2));                                                   // held: 2 (expires after asOf)
        AdvanceTo(asOf);
        var summary = Pool.Summary(asOf);

        Assert.NotNull(summary);
        Assert.Equal(
            ("space-1", PlanTier.Pro, (PlanTier?)null, BillingCadence.Monthly, T0, Feb28, 1),
            (summary.SpaceId, summary.Plan, summary.PendingPlan, summary.Cadence, summary.CycleStart, summary.NextRenewal, summary.CatalogVersion));
        Assert.Equal((500L, 37L, 2L, 461L, 7.4, 9L), (summary.Allowance, summary.Used, summary.Held, summary.Available, summary.PercentUsed, summary.Generations));
        Assert.Equal((1, 3, asOf), (summary.OpenHolds, summary.Members, summary.AsOf));
        Assert.Equal(new Dictionary<string, UsageTotals> { ["owner"] = new(12, 3), ["member"] = new(25, 6) }, summary.ByMember);
        Assert.Equal(new Dictionary<string, UsageTotals> { ["virtual-model"] = new(32, 4), ["ai-shadows"] = new(5, 5) }, summary.ByFeature);
        Assert.Equal(new Dictionary<MediaKind, UsageTotals> { [MediaKind.Image] = new(17, 8), [MediaKind.Video] = new(20, 1) }, summary.ByMedia);
        Assert.Empty(summary.ThresholdsCrossed);

        // 37 in 10 h: 3.7 an hour; 461 left: 461 × 10 ÷ 37 h = 448,540.5… s after 20:00 on Jan 31.
        Assert.Equal(new ExhaustionForecast(ForecastKind.RunsOut, 3.7, new DateTimeOffset(2025, 2, 6, 0, 35, 40, TimeSpan.Zero)), summary.Forecast);
    }

    [Fact]
    public void Summary_is_a_copy_that_later_spending_does_not_change()
    {
        CreateTeamSpace();
        Spend("s1", 5);
        var summary = Pool.Summary(Now)!;

        Spend("s2", 7, user: "member");

        Assert.Equal(5, summary.Used);
        Assert.Equal(new Dictionary<string, UsageTotals> { ["owner"] = new(5, 5) }, summary.ByMember);
        Assert.Equal(2, Pool.Summary(Now)!.ByMember.Count);
    }

    [Fact]
    public void A_Space_never_created_has_no_summary() => Assert.Null(Pool.Summary(T0));
}
