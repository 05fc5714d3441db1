namespace QuotaGrains;

/// <summary>What is generated: a feature of the price book, the media kind and the output resolution.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.GenerationSpec")]
public sealed record GenerationSpec(
    [property: Id(0)] string Feature,
    [property: Id(1)] MediaKind Media = MediaKind.Image,
    [property: Id(2)] ResolutionTier Resolution = ResolutionTier.Standard);

/// <summary>Creates a Space. The creating user becomes its Owner.</summary>
/// <param name="SubscribedAt">The subscription instant whose time of day renewals keep; <c>null</c> means now.
/// Free Spaces always renew monthly from their creation instant.</param>
/// <param name="CustomAllowance">Credits per renewal; required for Enterprise, not allowed otherwise.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.CreateSpaceRequest")]
public sealed record CreateSpaceRequest(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string OwnerUserId,
    [property: Id(2)] PlanTier Plan,
    [property: Id(3)] BillingCadence Cadence = BillingCadence.Monthly,
    [property: Id(4)] DateTimeOffset? SubscribedAt = null,
    [property: Id(5)] long? CustomAllowance = null);

/// <summary>Adds a member, or changes the role of an existing one.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.AddMemberRequest")]
public sealed record AddMemberRequest(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string ActorUserId,
    [property: Id(2)] string UserId,
    [property: Id(3)] SpaceRole Role);

[GenerateSerializer, Immutable, Alias("QuotaGrains.RemoveMemberRequest")]
public sealed record RemoveMemberRequest(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string ActorUserId,
    [property: Id(2)] string UserId);

/// <summary>Moves the Space to another plan: an upgrade applies at once, a downgrade at the next renewal.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.ChangePlanRequest")]
public sealed record ChangePlanRequest(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string ActorUserId,
    [property: Id(2)] PlanTier Plan,
    [property: Id(3)] long? CustomAllowance = null);

/// <summary>Holds the cost of <paramref name="Count"/> generations (a batch is all-or-nothing).
/// The operation id also names the hold.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.ReserveRequest")]
public sealed record ReserveRequest(
    [property: Id(0)] string OperationId,
    [property: Id(1)] GenerationSpec Spec,
    [property: Id(2)] int Count = 1);

/// <summary>Commits or refunds items of a hold. <paramref name="Items"/> names item indexes (0-based);
/// <c>null</c> means every item still pending.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SettleRequest")]
public sealed record SettleRequest(
    [property: Id(0)] string OperationId,
    [property: Id(1)] string HoldId,
    [property: Id(2)] IReadOnlyList<int>? Items = null);
