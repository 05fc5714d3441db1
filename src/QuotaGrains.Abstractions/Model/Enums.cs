namespace QuotaGrains;

/// <summary>A member's role in a Space. Owners and Admins manage the plan and membership.</summary>
[GenerateSerializer, Alias("QuotaGrains.SpaceRole")]
public enum SpaceRole
{
    Member = 0,
    Admin = 1,
    Owner = 2,
}

/// <summary>The subscription plan of a Space.</summary>
[GenerateSerializer, Alias("QuotaGrains.PlanTier")]
public enum PlanTier
{
    Free = 0,
    Pro = 1,
    Max = 2,
    Ultra = 3,
    Enterprise = 4,
}

/// <summary>How often the subscription is billed. Credits renew weekly or monthly (yearly renews monthly).</summary>
[GenerateSerializer, Alias("QuotaGrains.BillingCadence")]
public enum BillingCadence
{
    Monthly = 0,
    Weekly = 1,
    Yearly = 2,
}

[GenerateSerializer, Alias("QuotaGrains.MediaKind")]
public enum MediaKind
{
    Image = 0,
    Video = 1,
}

[GenerateSerializer, Alias("QuotaGrains.ResolutionTier")]
public enum ResolutionTier
{
    Standard = 0,
    Hd = 1,
    FourK = 2,
}

/// <summary>Why a request was not carried out. Every rejection leaves the Space unchanged.</summary>
[GenerateSerializer, Alias("QuotaGrains.RejectionCode")]
public enum RejectionCode
{
    /// <summary>Malformed input: empty or over-long ids, a batch size out of range, a bad index or value.</summary>
    InvalidRequest = 1,

    /// <summary>The pool cannot cover the request; see available, required and the next renewal.</summary>
    InsufficientCredits = 2,

    /// <summary>The user is not a member of the Space.</summary>
    NotAMember = 3,

    /// <summary>The user is a member but the role does not allow the change.</summary>
    NotAuthorized = 4,

    /// <summary>The price book has no such feature, or the feature has no price for the media kind.</summary>
    UnknownFeature = 5,

    /// <summary>The price book has no multiplier for the resolution tier.</summary>
    UnknownResolution = 6,

    /// <summary>The operation id was already used with different parameters.</summary>
    OperationIdReused = 7,

    /// <summary>No Space with this id has been created.</summary>
    SpaceNotFound = 8,

    /// <summary>The Space already exists with different parameters.</summary>
    SpaceAlreadyExists = 9,

    /// <summary>No open hold with this id belongs to the user. Also the answer for a hold that was settled or expired
    /// longer ago than the Space remembers closed holds (<c>OperationIdRetention</c>, at most
    /// <c>MaxRememberedOperations</c> of them): within that window it is <see cref="ItemAlreadySettled"/> or
    /// <see cref="HoldExpired"/>.</summary>
    HoldNotFound = 10,

    /// <summary>The hold expired before it was settled; its credits went back to the pool.</summary>
    HoldExpired = 11,

    /// <summary>One of the named items of the hold was already committed, refunded or expired; or the hold is closed,
    /// every item settled, and this is a new operation on it (a retry of the settle that closed it replays that).</summary>
    ItemAlreadySettled = 12,
}

/// <summary>What became of one item of a hold.</summary>
[GenerateSerializer, Alias("QuotaGrains.HoldItemStatus")]
public enum HoldItemStatus : byte
{
    Pending = 0,
    Committed = 1,
    Refunded = 2,
    Expired = 3,
}
