namespace QuotaGrains;

/// <summary>Everything a usage page shows of a Space at once, read in one turn of the Space: the pool, its cycle, the
/// cycle's usage by member, feature and media kind, and when the pool runs out at the cycle's burn rate.</summary>
/// <param name="PercentUsed">Used ÷ allowance × 100 (committed credits only; 0 with no allowance).</param>
/// <param name="Generations">Generations committed this cycle.</param>
/// <param name="ThresholdsCrossed">Usage thresholds (percent) notified this cycle, in order.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SpaceSummary")]
public sealed record SpaceSummary(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] PlanTier Plan,
    [property: Id(2)] PlanTier? PendingPlan,
    [property: Id(3)] BillingCadence Cadence,
    [property: Id(4)] DateTimeOffset CycleStart,
    [property: Id(5)] DateTimeOffset NextRenewal,
    [property: Id(6)] long Allowance,
    [property: Id(7)] long Used,
    [property: Id(8)] long Held,
    [property: Id(9)] long Available,
    [property: Id(10)] double PercentUsed,
    [property: Id(11)] long Generations,
    [property: Id(12)] int OpenHolds,
    [property: Id(13)] int Members,
    [property: Id(14)] IReadOnlyDictionary<string, UsageTotals> ByMember,
    [property: Id(15)] IReadOnlyDictionary<string, UsageTotals> ByFeature,
    [property: Id(16)] IReadOnlyDictionary<MediaKind, UsageTotals> ByMedia,
    [property: Id(17)] IReadOnlyList<int> ThresholdsCrossed,
    [property: Id(18)] int CatalogVersion,
    [property: Id(19)] ExhaustionForecast Forecast,
    [property: Id(20)] DateTimeOffset AsOf);

/// <summary>What the cycle's burn rate says about the pool (see <see cref="ExhaustionForecast"/>).</summary>
[GenerateSerializer, Alias("QuotaGrains.ForecastKind")]
public enum ForecastKind
{
    /// <summary>No forecast: nothing committed this cycle yet, or too little of the cycle has passed to tell a rate.</summary>
    None = 0,

    /// <summary>At this rate the pool lasts until the next renewal.</summary>
    LastsTheCycle = 1,

    /// <summary>At this rate the pool runs out at <see cref="ExhaustionForecast.RunsOutAt"/>, before the next renewal.</summary>
    RunsOut = 2,

    /// <summary>Nothing is available now (used and held take the whole allowance).</summary>
    Exhausted = 3,
}

/// <summary>The exhaustion forecast from the cycle's burn rate: committed credits ÷ the time elapsed since the cycle
/// started. The pool runs out when what is available (allowance − used − held: held credits count as spent) is spent
/// at that rate.</summary>
/// <param name="CreditsPerHour">The burn rate: used ÷ elapsed hours of the cycle (0 when nothing was committed).</param>
/// <param name="RunsOutAt">With <see cref="ForecastKind.RunsOut"/>: now + available ÷ rate, to the whole second
/// (rounded down); otherwise <c>null</c>.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.ExhaustionForecast")]
public sealed record ExhaustionForecast(
    [property: Id(0)] ForecastKind Kind,
    [property: Id(1)] double CreditsPerHour,
    [property: Id(2)] DateTimeOffset? RunsOutAt = null);
