using Orleans.Concurrency;

namespace QuotaGrains;

/// <summary>Issues usage page links: a signed, expiring token for one Space and one of its members. It runs in the
/// engine, which holds the signing key (<c>Quota:UsagePage:SigningKey</c>), so that generation servers never do.
/// Stateless: any silo answers (key 0).</summary>
[Alias("QuotaGrains.IUsagePageGrain")]
public interface IUsagePageGrain : IGrainWithIntegerKey
{
    /// <summary>A link for <paramref name="userId"/>, who must be a member of <paramref name="spaceId"/>, valid for
    /// <paramref name="lifetime"/> (at most <c>Quota:UsagePage:MaxLinkLifetime</c>).</summary>
    [Alias("CreateLink"), AlwaysInterleave]
    Task<UsagePageLinkResult> CreateLinkAsync(string spaceId, string userId, TimeSpan lifetime);
}
