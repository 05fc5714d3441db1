namespace QuotaGrains;

/// <summary>A Space's renewal schedule after it advanced to now (what the renewal index learns when it wakes a Space): the
/// cycle it is in, when it renews next, and the schedule (cadence and anchor) that renewal follows.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.RenewalStatus")]
public sealed record RenewalStatus(
    [property: Id(0)] DateTimeOffset CycleStart,
    [property: Id(1)] DateTimeOffset NextRenewal,
    [property: Id(2)] BillingCadence Cadence,
    [property: Id(3)] DateTimeOffset Anchor);
