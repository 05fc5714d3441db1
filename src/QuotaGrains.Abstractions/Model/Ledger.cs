namespace QuotaGrains;

/// <summary>One entry of a Space's append-only ledger: one event, numbered by the Space's sequence.</summary>
/// <param name="Credits">Credits moved by the entry: held (reserved), charged (committed), returned (refunded,
/// expired), or the new allowance (created, renewed, plan changed); 0 otherwise.</param>
[GenerateSerializer, Immutable, Alias("QuotaGrains.LedgerEntry")]
public sealed record LedgerEntry(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Kind,
    [property: Id(3)] long Credits,
    [property: Id(4)] string? OperationId = null,
    [property: Id(5)] string? UserId = null,
    [property: Id(6)] string? HoldId = null,
    [property: Id(7)] int Items = 0,
    [property: Id(8)] string? Detail = null);

/// <summary>Entries with <see cref="From"/> ≤ At &lt; <see cref="To"/> (either may be open), after
/// <see cref="AfterSequence"/>, at most <see cref="PageSize"/> of them.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.LedgerQuery")]
public sealed record LedgerQuery(
    [property: Id(0)] DateTimeOffset? From = null,
    [property: Id(1)] DateTimeOffset? To = null,
    [property: Id(2)] long AfterSequence = 0,
    [property: Id(3)] int PageSize = 100)
{
    public const int MaxPageSize = 1_000;
}

/// <summary>A page of ledger entries; <see cref="NextAfterSequence"/> continues the query, <c>null</c> at the end.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.LedgerPage")]
public sealed record LedgerPage(
    [property: Id(0)] IReadOnlyList<LedgerEntry> Entries,
    [property: Id(1)] long? NextAfterSequence);
