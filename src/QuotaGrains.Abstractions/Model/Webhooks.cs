namespace QuotaGrains;

/// <summary>Adds a webhook endpoint to a Space, or replaces one (same <paramref name="EndpointId"/>). Only an Owner or
/// Admin of the Space may. <paramref name="Secret"/>: a Standard Webhooks secret (<c>whsec_</c> + base64 of 24–64
/// bytes); <c>null</c> lets the engine make one, which the result returns this once. <paramref name="Kinds"/>: the
/// notification types to send (e.g. <c>quota.threshold.crossed</c>); <c>null</c> or empty means all.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.SetWebhookEndpointRequest")]
public sealed record SetWebhookEndpointRequest(
    [property: Id(0)] string ActorUserId,
    [property: Id(1)] string Url,
    [property: Id(2)] string? Secret = null,
    [property: Id(3)] IReadOnlyList<string>? Kinds = null,
    [property: Id(4)] string? EndpointId = null);

[GenerateSerializer, Immutable, Alias("QuotaGrains.RemoveWebhookEndpointRequest")]
public sealed record RemoveWebhookEndpointRequest(
    [property: Id(0)] string ActorUserId,
    [property: Id(1)] string EndpointId);

/// <summary>The endpoint set, and its secret: shown this once (the engine never returns it again).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.WebhookEndpointResult")]
public sealed record WebhookEndpointResult : OperationResult
{
    [Id(0)] public string? EndpointId { get; init; }

    [Id(1)] public string? Secret { get; init; }

    public static WebhookEndpointResult Rejected(Rejection rejection) => new() { Rejection = rejection };
}

/// <summary>A Space's own endpoint, without its secret.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.WebhookEndpointView")]
public sealed record WebhookEndpointView(
    [property: Id(0)] string EndpointId,
    [property: Id(1)] string Url,
    [property: Id(2)] IReadOnlyList<string> Kinds,
    [property: Id(3)] DateTimeOffset CreatedAt);

[GenerateSerializer, Alias("QuotaGrains.DeliveryStatus")]
public enum DeliveryStatus
{
    /// <summary>Not yet acknowledged with a 2xx; retried on the schedule.</summary>
    Pending = 0,

    /// <summary>An attempt was answered with a 2xx.</summary>
    Delivered = 1,

    /// <summary>Every attempt of the schedule failed (or the endpoint was removed): given up.</summary>
    Failed = 2,
}

/// <summary>Where one notification stands with one endpoint. Global endpoints are named <c>global:{name}</c>.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.EndpointDelivery")]
public sealed record EndpointDelivery(
    [property: Id(0)] string EndpointId,
    [property: Id(1)] string Url,
    [property: Id(2)] DeliveryStatus Status,
    [property: Id(3)] int Attempts,
    [property: Id(4)] DateTimeOffset? LastAttemptAt,
    [property: Id(5)] int? LastStatusCode,
    [property: Id(6)] string? LastError,
    [property: Id(7)] DateTimeOffset? NextAttemptAt);

/// <summary>A notification with its delivery state per endpoint. <see cref="Summary"/> is one line for a page.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.NotificationView")]
public sealed record NotificationView(
    [property: Id(0)] SpaceNotification Notification,
    [property: Id(1)] string Summary,
    [property: Id(2)] IReadOnlyList<EndpointDelivery> Deliveries)
{
    public string Id => Notification.Id;

    public NotificationKind Kind => Notification.Kind;

    public DateTimeOffset At => Notification.At;
}

/// <summary>One delivery attempt: the endpoint, when, the HTTP status or the error, and how long it took.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.WebhookDeliveryAttempt")]
public sealed record WebhookDeliveryAttempt(
    [property: Id(0)] string NotificationId,
    [property: Id(1)] string EndpointId,
    [property: Id(2)] string Url,
    [property: Id(3)] int Attempt,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] int? StatusCode,
    [property: Id(6)] string? Error,
    [property: Id(7)] TimeSpan Latency)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}
