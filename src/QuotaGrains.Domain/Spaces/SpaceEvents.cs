namespace QuotaGrains.Domain.Spaces;

/// <summary>Every change of a Space is one of these: the journal's records and the ledger's entries.
/// <see cref="Sequence"/> numbers a Space's events from 1 without gaps.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SpaceEvent")]
public abstract record SpaceEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset At);

/// <summary>An event that carries out a request: it remembers the operation id and a fingerprint of the
/// request's parameters, so a retry replays the outcome and a reuse with other parameters is refused.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.RequestEvent")]
public abstract record RequestEvent(
    long Sequence,
    DateTimeOffset At,
    [property: Id(0)] string OperationId,
    [property: Id(1)] ulong Fingerprint) : SpaceEvent(Sequence, At);

[GenerateSerializer, Immutable, Alias("QuotaGrains.SpaceCreated")]
public sealed record SpaceCreated(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] string OwnerUserId,
    [property: Id(1)] PlanTier Plan,
    [property: Id(2)] long? CustomAllowance,
    [property: Id(3)] BillingCadence Cadence,
    [property: Id(4)] DateTimeOffset Anchor,
    [property: Id(5)] int CatalogVersion,
    [property: Id(6)] long Allowance,
    [property: Id(7)] DateTimeOffset CycleStart,
    [property: Id(8)] DateTimeOffset NextRenewal) : RequestEvent(Sequence, At, OperationId, Fingerprint);

[GenerateSerializer, Immutable, Alias("QuotaGrains.MemberAdded")]
public sealed record MemberAdded(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] string UserId,
    [property: Id(1)] SpaceRole Role) : RequestEvent(Sequence, At, OperationId, Fingerprint);

[GenerateSerializer, Immutable, Alias("QuotaGrains.MemberRemoved")]
public sealed record MemberRemoved(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] string UserId) : RequestEvent(Sequence, At, OperationId, Fingerprint);

/// <summary>An upgrade: the current cycle's allowance rises at once; what was used stays used.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.PlanUpgraded")]
public sealed record PlanUpgraded(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] PlanTier Plan,
    [property: Id(1)] long? CustomAllowance,
    [property: Id(2)] long Allowance) : RequestEvent(Sequence, At, OperationId, Fingerprint);

/// <summary>A downgrade or cancellation: it takes effect at the next renewal.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.PlanChangeScheduled")]
public sealed record PlanChangeScheduled(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] PlanTier Plan,
    [property: Id(1)] long? CustomAllowance,
    [property: Id(2)] DateTimeOffset EffectiveAt) : RequestEvent(Sequence, At, OperationId, Fingerprint);

/// <summary>A hold of <see cref="Count"/> items of <see cref="UnitCredits"/> each. The hold id is the operation id.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.CreditsReserved")]
public sealed record CreditsReserved(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] string UserId,
    [property: Id(1)] GenerationSpec Spec,
    [property: Id(2)] int Count,
    [property: Id(3)] long UnitCredits,
    [property: Id(4)] DateTimeOffset ExpiresAt) : RequestEvent(Sequence, At, OperationId, Fingerprint);

/// <summary>Items of a hold charged. <see cref="Items"/> <c>null</c> means every item pending at that point.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.HoldCommitted")]
public sealed record HoldCommitted(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] string HoldId,
    [property: Id(1)] int[]? Items,
    [property: Id(2)] long Credits) : RequestEvent(Sequence, At, OperationId, Fingerprint);

/// <summary>Items of a hold returned to the pool. <see cref="Items"/> <c>null</c> means every item pending at that point.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.HoldRefunded")]
public sealed record HoldRefunded(
    long Sequence,
    DateTimeOffset At,
    string OperationId,
    ulong Fingerprint,
    [property: Id(0)] string HoldId,
    [property: Id(1)] int[]? Items,
    [property: Id(2)] long Credits) : RequestEvent(Sequence, At, OperationId, Fingerprint);

/// <summary>A hold nobody settled in time: its pending items are refunded. <see cref="SpaceEvent.At"/> is the expiry instant.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.HoldExpired")]
public sealed record HoldExpired(
    long Sequence,
    DateTimeOffset At,
    [property: Id(0)] string HoldId,
    [property: Id(1)] int Items,
    [property: Id(2)] long Credits) : SpaceEvent(Sequence, At);

/// <summary>A renewal: used back to zero, allowance from the plan (pending change applied) and the catalog version
/// in effect at <see cref="SpaceEvent.At"/>. Open holds carry over. A Space that became Free renews monthly from
/// its creation instant from then on (<see cref="Cadence"/>, <see cref="Anchor"/>).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.CycleRenewed")]
public sealed record CycleRenewed(
    long Sequence,
    DateTimeOffset At,
    [property: Id(0)] PlanTier Plan,
    [property: Id(1)] long? CustomAllowance,
    [property: Id(2)] int CatalogVersion,
    [property: Id(3)] long Allowance,
    [property: Id(4)] DateTimeOffset NextRenewal,
    [property: Id(5)] long CarriedHeld,
    [property: Id(6)] BillingCadence Cadence,
    [property: Id(7)] DateTimeOffset Anchor) : SpaceEvent(Sequence, At);

/// <summary>Committed usage first reached <see cref="Percent"/> % of the allowance in the current cycle.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.UsageThresholdCrossed")]
public sealed record UsageThresholdCrossed(
    long Sequence,
    DateTimeOffset At,
    [property: Id(0)] int Percent,
    [property: Id(1)] long Used,
    [property: Id(2)] long Allowance) : SpaceEvent(Sequence, At);

/// <summary>A legacy Space's separate image and video pools merged into one: allowance and used are the sums,
/// nothing lost or invented. Applied once: afterwards the legacy pools are gone.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.PoolsMigrated")]
public sealed record PoolsMigrated(
    long Sequence,
    DateTimeOffset At,
    [property: Id(0)] long ImageAllowance,
    [property: Id(1)] long ImageUsed,
    [property: Id(2)] long VideoAllowance,
    [property: Id(3)] long VideoUsed,
    [property: Id(4)] long Allowance,
    [property: Id(5)] long Used) : SpaceEvent(Sequence, At);

/// <summary>The cycle's first reserve refused for insufficient credits (once per cycle). The refusal itself is not
/// remembered; this records that the pool ran dry, for the notification. <see cref="Available"/> and
/// <see cref="Required"/> are the refusal's.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.PoolExhausted")]
public sealed record PoolExhausted(
    long Sequence,
    DateTimeOffset At,
    [property: Id(0)] long Available,
    [property: Id(1)] long Required,
    [property: Id(2)] long Used,
    [property: Id(3)] long Allowance) : SpaceEvent(Sequence, At);
