namespace QuotaGrains;

/// <summary>A usage page link, or why none was issued (<see cref="RejectionCode.SpaceNotFound"/>,
/// <see cref="RejectionCode.NotAMember"/>, <see cref="RejectionCode.InvalidRequest"/>: a lifetime out of range, or the
/// usage page is not enabled on the engine).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.UsagePageLinkResult")]
public sealed record UsagePageLinkResult : OperationResult
{
    /// <summary>The credential: an HS256 JWT for one Space and one member. A secret until it expires: whoever has it
    /// sees the Space's usage.</summary>
    [Id(0)] public string? Token { get; init; }

    /// <summary>The page's path and query on the engine's web host (<c>{PathPrefix}/space/{spaceId}?token=…</c>);
    /// prefix it with the address your users reach the engine's web host at.</summary>
    [Id(1)] public string? Path { get; init; }

    /// <summary>When the token stops opening the page (an open page then shows nothing).</summary>
    [Id(2)] public DateTimeOffset? ExpiresAt { get; init; }

    public static UsagePageLinkResult Rejected(Rejection rejection) => new() { Rejection = rejection };
}
