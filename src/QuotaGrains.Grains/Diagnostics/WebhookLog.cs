using Microsoft.Extensions.Logging;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>Notification hand-over and webhook delivery (event ids 11xx).</summary>
internal static partial class WebhookLog
{
    [LoggerMessage(1101, LogLevel.Warning, "Space {SpaceId}: handing notifications after {Sequence} to its outbox failed; retrying in {Delay}.")]
    public static partial void HandOverFailed(ILogger logger, Exception exception, string spaceId, long sequence, TimeSpan delay);

    [LoggerMessage(1102, LogLevel.Debug, "Space {SpaceId}: notification {NotificationId} ({Type}) accepted for {Endpoints} endpoint(s).")]
    public static partial void Accepted(ILogger logger, string spaceId, string notificationId, string type, int endpoints);

    [LoggerMessage(1103, LogLevel.Debug, "Notification {NotificationId} delivered to {EndpointId} on attempt {Attempt} ({StatusCode}).")]
    public static partial void Delivered(ILogger logger, string notificationId, string endpointId, int attempt, int statusCode);

    [LoggerMessage(1104, LogLevel.Warning, "Notification {NotificationId} to {EndpointId}: attempt {Attempt} failed ({Outcome}); next attempt at {NextAttemptAt:O}.")]
    public static partial void AttemptFailed(ILogger logger, string notificationId, string endpointId, int attempt, string outcome, DateTimeOffset nextAttemptAt);

    [LoggerMessage(1105, LogLevel.Error, "Notification {NotificationId} to {EndpointId}: given up after {Attempts} attempt(s) ({Outcome}).")]
    public static partial void GaveUp(ILogger logger, string notificationId, string endpointId, int attempts, string outcome);

    [LoggerMessage(1106, LogLevel.Warning, "Space {SpaceId}: writing its outbox failed; pending deliveries are retried from the stored state.")]
    public static partial void OutboxWriteFailed(ILogger logger, Exception exception, string spaceId);

    [LoggerMessage(1107, LogLevel.Warning, "Space {SpaceId}: registering or removing its outbox reminder failed; retried at the next change.")]
    public static partial void ReminderChangeFailed(ILogger logger, Exception exception, string spaceId);
}
