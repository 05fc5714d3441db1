namespace QuotaGrains;

/// <summary>What a notification tells. Its webhook <c>type</c> is <see cref="NotificationKinds.TypeOf"/>.</summary>
[GenerateSerializer, Alias("QuotaGrains.NotificationKind")]
public enum NotificationKind
{
    /// <summary><c>quota.threshold.crossed</c>: committed usage first reached a percentage of the allowance in a cycle.</summary>
    ThresholdCrossed = 0,

    /// <summary><c>quota.pool.exhausted</c>: the cycle's first reserve refused for insufficient credits.</summary>
    PoolExhausted = 1,

    /// <summary><c>quota.cycle.renewed</c>: credits renewed to the full allowance.</summary>
    CycleRenewed = 2,

    /// <summary><c>quota.plan.changed</c>: an upgrade (at once) or a scheduled change (at the next renewal).</summary>
    PlanChanged = 3,
}

public static class NotificationKinds
{
    public const string ThresholdCrossed = "quota.threshold.crossed";
    public const string PoolExhausted = "quota.pool.exhausted";
    public const string CycleRenewed = "quota.cycle.renewed";
    public const string PlanChanged = "quota.plan.changed";

    public static IReadOnlyList<string> All { get; } = [ThresholdCrossed, PoolExhausted, CycleRenewed, PlanChanged];

    public static string TypeOf(NotificationKind kind) => kind switch
    {
        NotificationKind.ThresholdCrossed => ThresholdCrossed,
        NotificationKind.PoolExhausted => PoolExhausted,
        NotificationKind.CycleRenewed => CycleRenewed,
        NotificationKind.PlanChanged => PlanChanged,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

/// <summary>A notification born from one journaled event of a Space. <see cref="Id"/> is stable: derived from the Space
/// id and the event's sequence, so a recovery that replays the event yields the same id (receivers dedup on it).
/// Fields that a kind does not carry are <c>null</c>.</summary>
/// <param name="CycleStart">The cycle the event belongs to (for a renewal: the new cycle).</param>
/// <param name="Percent">Threshold crossed.</param>
/// <param name="Available">Pool exhausted: credits available at the refusal.</param>
/// <param name="Required">Pool exhausted: credits the refused reserve needed.</param>
/// <param name="Plan">Plan changed or renewed: the plan.</param>
/// <param name="EffectiveAt">Plan changed: when it takes effect (the event's instant for an upgrade).</param>
/// <param name="NextRenewal">When the pool renews next.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SpaceNotification")]
public sealed record SpaceNotification(
    [property: Id(0)] string Id,
    [property: Id(1)] string SpaceId,
    [property: Id(2)] long Sequence,
    [property: Id(3)] NotificationKind Kind,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] DateTimeOffset CycleStart,
    [property: Id(6)] long Used,
    [property: Id(7)] long Allowance,
    [property: Id(8)] int? Percent = null,
    [property: Id(9)] long? Available = null,
    [property: Id(10)] long? Required = null,
    [property: Id(11)] PlanTier? Plan = null,
    [property: Id(12)] DateTimeOffset? EffectiveAt = null,
    [property: Id(13)] DateTimeOffset? NextRenewal = null)
{
    /// <summary>The stable id of a Space's notification born from event <paramref name="sequence"/>.</summary>
    public static string IdOf(string spaceId, long sequence) => $"ntf_{spaceId}_{sequence}";

    public string Type => NotificationKinds.TypeOf(Kind);
}
