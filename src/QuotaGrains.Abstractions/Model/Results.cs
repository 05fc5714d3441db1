namespace QuotaGrains;

/// <summary>Why a request was refused. For <see cref="RejectionCode.InsufficientCredits"/> it carries the
/// credits available, the credits required and the instant the pool renews.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.Rejection")]
public sealed record Rejection(
    [property: Id(0)] RejectionCode Code,
    [property: Id(1)] string Message,
    [property: Id(2)] long? Available = null,
    [property: Id(3)] long? Required = null,
    [property: Id(4)] DateTimeOffset? NextRenewal = null)
{
    public override string ToString() => $"{Code}: {Message}";
}

/// <summary>The outcome of any command. <see cref="Replayed"/> is true when the operation id had already been
/// carried out and the first outcome is returned again.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.OperationResult")]
public abstract record OperationResult
{
    [Id(0)] public Rejection? Rejection { get; init; }

    [Id(1)] public bool Replayed { get; init; }

    public bool Succeeded => Rejection is null;
}

/// <summary>The outcome of a Space administration command (create, membership, plan).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.CommandResult")]
public sealed record CommandResult : OperationResult
{
    public static CommandResult Ok { get; } = new();

    public static CommandResult Rejected(Rejection rejection) => new() { Rejection = rejection };
}

/// <summary>The outcome of a reserve. A free operation succeeds with no hold and zero credits.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.ReserveResult")]
public sealed record ReserveResult : OperationResult
{
    /// <summary>The hold to commit or refund; <c>null</c> when rejected or when the operation is free.</summary>
    [Id(0)] public string? HoldId { get; init; }

    [Id(1)] public int Items { get; init; }

    [Id(2)] public long UnitCredits { get; init; }

    [Id(3)] public long Credits { get; init; }

    [Id(4)] public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Credits available in the pool right after this reserve.</summary>
    [Id(5)] public long Available { get; init; }

    public bool IsFree => Succeeded && HoldId is null;

    public static ReserveResult Rejected(Rejection rejection) => new() { Rejection = rejection };
}

/// <summary>The outcome of a commit or refund: the credits charged or returned by this request, and the state of
/// every item of the hold afterwards.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SettleResult")]
public sealed record SettleResult : OperationResult
{
    [Id(0)] public string HoldId { get; init; } = "";

    [Id(1)] public long CommittedCredits { get; init; }

    [Id(2)] public long RefundedCredits { get; init; }

    [Id(3)] public int ItemsSettled { get; init; }

    [Id(4)] public int ItemsPending { get; init; }

    public static SettleResult Rejected(string holdId, Rejection rejection) => new() { HoldId = holdId, Rejection = rejection };
}
