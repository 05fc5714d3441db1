namespace QuotaGrains;

/// <summary>The operators' view of the whole engine, from the figures the Spaces push (never a scan): the Spaces closest
/// to exhaustion, the top spenders of the last hour and totals per plan. At most <see cref="ReportInterval"/> plus one
/// grain call behind what the Spaces acknowledged (a failed report is retried at the next interval).</summary>
/// <param name="SpacesTracked">Spaces the view knows: every Space that changed (or renewed) since the fleet grain
/// started, and those its last snapshot kept.</param>
/// <param name="ClosestToExhaustion">Least available share of the allowance first (then the earliest forecast
/// exhaustion, then the Space id); Spaces whose reported cycle has ended are left out until they report the new one.</param>
/// <param name="TopSpendersLastHour">Most credits committed in the last hour first: the current minute (UTC) and the 59
/// before it.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.FleetView")]
public sealed record FleetView(
    [property: Id(0)] DateTimeOffset AsOf,
    [property: Id(1)] int SpacesTracked,
    [property: Id(2)] IReadOnlyList<FleetSpace> ClosestToExhaustion,
    [property: Id(3)] IReadOnlyList<FleetSpender> TopSpendersLastHour,
    [property: Id(4)] IReadOnlyList<PlanTotals> ByPlan,
    [property: Id(5)] TimeSpan ReportInterval);

/// <summary>One Space's pool as last reported.</summary>
/// <param name="ChangedAt">The instant of the last event the figures include.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.FleetSpace")]
public sealed record FleetSpace(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] PlanTier Plan,
    [property: Id(2)] long Allowance,
    [property: Id(3)] long Used,
    [property: Id(4)] long Held,
    [property: Id(5)] long Available,
    [property: Id(6)] double PercentUsed,
    [property: Id(7)] DateTimeOffset NextRenewal,
    [property: Id(8)] ExhaustionForecast Forecast,
    [property: Id(9)] DateTimeOffset ChangedAt);

/// <summary>Credits a Space committed in the last hour.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.FleetSpender")]
public sealed record FleetSpender(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] PlanTier Plan,
    [property: Id(2)] long CreditsLastHour);

/// <summary>The Spaces of one plan and their pools, summed (a Space whose reported cycle has ended counts 0 used).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.PlanTotals")]
public sealed record PlanTotals(
    [property: Id(0)] PlanTier Plan,
    [property: Id(1)] int Spaces,
    [property: Id(2)] long Allowance,
    [property: Id(3)] long Used,
    [property: Id(4)] long Held);
