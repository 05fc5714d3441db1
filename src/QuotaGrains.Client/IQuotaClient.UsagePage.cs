namespace QuotaGrains.Client;

/// <summary>Links to the usage page (docs/usage-page.md).</summary>
public partial interface IQuotaClient
{
    /// <summary>A signed link to the Space's usage page for one of its members, valid for <paramref name="lifetime"/>
    /// (as Stripe's customer-portal sessions: your backend asks for it when the member opens the page, and embeds or
    /// redirects to it). Issued by the engine, which holds the signing key; refused with <c>NotAMember</c>,
    /// <c>SpaceNotFound</c> or <c>InvalidRequest</c> (a lifetime out of range, the page not enabled).</summary>
    Task<UsagePageLinkResult> CreateUsagePageLinkAsync(string spaceId, string userId, TimeSpan lifetime, CancellationToken cancellationToken = default);
}
