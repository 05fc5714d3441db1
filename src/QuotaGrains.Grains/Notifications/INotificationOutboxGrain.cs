namespace QuotaGrains.Grains.Notifications;

/// <summary>What a Space asks of its outbox (key: Space id), engine-internal: take notifications born from its durable
/// events. Clients use <see cref="ISpaceWebhooksGrain"/>.</summary>
[Alias("QuotaGrains.INotificationOutboxGrain")]
internal interface INotificationOutboxGrain : IGrainWithStringKey
{
    /// <summary>Completes once the notifications are stored (those already taken are skipped: the outbox dedups by
    /// sequence, so a re-hand-over after a crash adds nothing twice).</summary>
    [Alias("Accept")]
    Task AcceptAsync(IReadOnlyList<SpaceNotification> notifications);
}
