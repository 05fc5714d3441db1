namespace QuotaGrains;

/// <summary>A Space's notifications as delivered (key: Space id): its webhook endpoints, each notification with its
/// delivery state per endpoint, and the log of delivery attempts.</summary>
[Alias("QuotaGrains.ISpaceWebhooksGrain")]
public interface ISpaceWebhooksGrain : IGrainWithStringKey
{
    /// <summary>Adds or replaces an endpoint; only an Owner or Admin of the Space may.</summary>
    [Alias("SetEndpoint")]
    Task<WebhookEndpointResult> SetEndpointAsync(SetWebhookEndpointRequest request);

    /// <summary>Removes an endpoint (its pending deliveries are given up); only an Owner or Admin of the Space may.</summary>
    [Alias("RemoveEndpoint")]
    Task<CommandResult> RemoveEndpointAsync(RemoveWebhookEndpointRequest request);

    [Alias("GetEndpoints")]
    Task<IReadOnlyList<WebhookEndpointView>> GetEndpointsAsync();

    /// <summary>The Space's recent notifications, newest first, with their delivery state per endpoint.</summary>
    [Alias("GetNotifications")]
    Task<IReadOnlyList<NotificationView>> GetNotificationsAsync();

    /// <summary>The latest delivery attempts, newest first (at most <paramref name="max"/>).</summary>
    [Alias("GetDeliveries")]
    Task<IReadOnlyList<WebhookDeliveryAttempt>> GetDeliveriesAsync(int max);
}
