namespace QuotaGrains.Client;

/// <summary>Webhook endpoints and notification deliveries, from the Space's <see cref="ISpaceWebhooksGrain"/>.</summary>
internal sealed partial class QuotaClient
{
    public Task<WebhookEndpointResult> SetWebhookEndpointAsync(string spaceId, SetWebhookEndpointRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);

        // Named before the first attempt: a retry replaces the same endpoint rather than adding a second one.
        var named = request.EndpointId is null ? request with { EndpointId = "ep_" + Guid.NewGuid().ToString("N") } : request;
        return InvokeAsync(() => Webhooks(spaceId).SetEndpointAsync(named), cancellationToken);
    }

    public Task<CommandResult> RemoveWebhookEndpointAsync(string spaceId, RemoveWebhookEndpointRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return InvokeAsync(() => Webhooks(spaceId).RemoveEndpointAsync(request), cancellationToken);
    }

    public Task<IReadOnlyList<WebhookEndpointView>> GetWebhookEndpointsAsync(string spaceId, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Webhooks(spaceId).GetEndpointsAsync(), cancellationToken);

    public Task<IReadOnlyList<NotificationView>> GetNotificationsAsync(string spaceId, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Webhooks(spaceId).GetNotificationsAsync(), cancellationToken);

    public Task<IReadOnlyList<WebhookDeliveryAttempt>> GetWebhookDeliveriesAsync(string spaceId, int max = 100, CancellationToken cancellationToken = default) =>
        InvokeAsync(() => Webhooks(spaceId).GetDeliveriesAsync(max), cancellationToken);

    private ISpaceWebhooksGrain Webhooks(string spaceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spaceId);
        return _grains.GetGrain<ISpaceWebhooksGrain>(spaceId);
    }
}
