namespace QuotaGrains;

/// <summary>The pool of a Space as seen at <see cref="AsOf"/>.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SpaceBalance")]
public sealed record SpaceBalance(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] PlanTier Plan,
    [property: Id(2)] PlanTier? PendingPlan,
    [property: Id(3)] long Allowance,
    [property: Id(4)] long Used,
    [property: Id(5)] long Held,
    [property: Id(6)] DateTimeOffset CycleStart,
    [property: Id(7)] DateTimeOffset NextRenewal,
    [property: Id(8)] int CatalogVersion,
    [property: Id(9)] int OpenHolds,
    [property: Id(10)] int Members,
    [property: Id(11)] DateTimeOffset AsOf)
{
    /// <summary>allowance − used − held, never below zero.</summary>
    public long Available => Math.Max(0, Allowance - Used - Held);
}

/// <summary>One member of a Space.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SpaceMember")]
public sealed record SpaceMember(
    [property: Id(0)] string UserId,
    [property: Id(1)] SpaceRole Role);

/// <summary>One Space a user belongs to, as the user's grain knows it.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.UserSpace")]
public sealed record UserSpace(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] SpaceRole Role);

/// <summary>Credits and generations charged in one cycle, by member, feature and media kind.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.CycleUsage")]
public sealed record CycleUsage(
    [property: Id(0)] DateTimeOffset CycleStart,
    [property: Id(1)] DateTimeOffset CycleEnd,
    [property: Id(2)] long Allowance,
    [property: Id(3)] long Credits,
    [property: Id(4)] long Generations,
    [property: Id(5)] IReadOnlyDictionary<string, UsageTotals> ByMember,
    [property: Id(6)] IReadOnlyDictionary<string, UsageTotals> ByFeature,
    [property: Id(7)] IReadOnlyDictionary<MediaKind, UsageTotals> ByMedia,
    [property: Id(8)] IReadOnlyList<int> ThresholdsCrossed);

/// <summary>Credits and generations of one member, feature or media kind in a cycle. A value, not an object: every charge
/// updates three of these in a Space's state, and as objects each update was a new one for the collector to age.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.UsageTotals")]
public readonly record struct UsageTotals(
    [property: Id(0)] long Credits,
    [property: Id(1)] long Generations);

/// <summary>Emitted once per threshold per cycle, when committed usage first reaches a percentage of the allowance.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.UsageNotification")]
public sealed record UsageNotification(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] DateTimeOffset CycleStart,
    [property: Id(2)] int Percent,
    [property: Id(3)] long Used,
    [property: Id(4)] long Allowance,
    [property: Id(5)] DateTimeOffset At);
