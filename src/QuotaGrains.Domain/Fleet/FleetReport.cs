namespace QuotaGrains.Domain.Fleet;

/// <summary>A Space's latest figures as its silo reports them to the fleet view, with the credits it committed since the
/// last report, by minute.</summary>
/// <param name="Sequence">The sequence of the Space's last event in the figures: an older report never replaces newer
/// figures (a Space that moved between silos may be reported by both).</param>
/// <param name="ChangedAt">The instant of that event.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.FleetReport")]
public sealed record FleetReport(
    [property: Id(0)] string SpaceId,
    [property: Id(1)] PlanTier Plan,
    [property: Id(2)] long Allowance,
    [property: Id(3)] long Used,
    [property: Id(4)] long Held,
    [property: Id(5)] DateTimeOffset CycleStart,
    [property: Id(6)] DateTimeOffset NextRenewal,
    [property: Id(7)] long Sequence,
    [property: Id(8)] DateTimeOffset ChangedAt,
    [property: Id(9)] IReadOnlyList<MinuteSpend> Spent);

/// <summary>Credits committed in one UTC minute (<see cref="Minute"/>: minutes since the Unix epoch).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.MinuteSpend")]
public readonly record struct MinuteSpend(
    [property: Id(0)] long Minute,
    [property: Id(1)] long Credits)
{
    public static long MinuteOf(DateTimeOffset at)
    {
        var seconds = at.ToUnixTimeSeconds();
        return seconds >= 0 ? seconds / 60 : ((seconds + 1) / 60) - 1;
    }
}
