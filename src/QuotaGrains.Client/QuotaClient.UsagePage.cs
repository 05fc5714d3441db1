namespace QuotaGrains.Client;

/// <summary>Usage page links, from the engine's <see cref="IUsagePageGrain"/> (any silo: it is stateless).</summary>
internal sealed partial class QuotaClient
{
    public Task<UsagePageLinkResult> CreateUsagePageLinkAsync(string spaceId, string userId, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spaceId);
        ArgumentException.ThrowIfNullOrWhiteSpace(userId);
        return InvokeAsync(() => _grains.GetGrain<IUsagePageGrain>(0).CreateLinkAsync(spaceId, userId, lifetime), cancellationToken);
    }
}
