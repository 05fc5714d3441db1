namespace QuotaGrains.Client;

/// <summary>Notifications and their webhook delivery (docs/webhooks.md).</summary>
public partial interface IQuotaClient
{
    /// <summary>Adds a webhook endpoint to the Space (or replaces the one named by <c>EndpointId</c>); the actor must be
    /// an Owner or Admin (else <see cref="RejectionCode.NotAuthorized"/> or <see cref="RejectionCode.NotAMember"/>); a
    /// bad URL, secret or kind is <see cref="RejectionCode.InvalidRequest"/>. The result carries the endpoint's secret,
    /// this once: the engine's own when the request gives none.</summary>
    Task<WebhookEndpointResult> SetWebhookEndpointAsync(string spaceId, SetWebhookEndpointRequest request, CancellationToken cancellationToken = default);

    Task<CommandResult> RemoveWebhookEndpointAsync(string spaceId, RemoveWebhookEndpointRequest request, CancellationToken cancellationToken = default);

    /// <summary>The Space's own endpoints (without secrets).</summary>
    Task<IReadOnlyList<WebhookEndpointView>> GetWebhookEndpointsAsync(string spaceId, CancellationToken cancellationToken = default);

    /// <summary>The Space's recent notifications, newest first, each with its delivery state per endpoint. A notification
    /// appears once its event is durable and handed to the Space's outbox (milliseconds later).</summary>
    Task<IReadOnlyList<NotificationView>> GetNotificationsAsync(string spaceId, CancellationToken cancellationToken = default);

    /// <summary>The Space's latest delivery attempts, newest first: endpoint, instant, status code or error, latency.</summary>
    Task<IReadOnlyList<WebhookDeliveryAttempt>> GetWebhookDeliveriesAsync(string spaceId, int max = 100, CancellationToken cancellationToken = default);
}
