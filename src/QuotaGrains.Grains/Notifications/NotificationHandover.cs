namespace QuotaGrains.Grains.Notifications;

/// <summary>Where a Space hands its notifications once their events are durable.</summary>
internal interface INotificationHandover
{
    Task HandOverAsync(string spaceId, IReadOnlyList<SpaceNotification> notifications);
}

/// <summary>To the Space's <see cref="INotificationOutboxGrain"/>.</summary>
internal sealed class OutboxHandover(IGrainFactory grains) : INotificationHandover
{
    public Task HandOverAsync(string spaceId, IReadOnlyList<SpaceNotification> notifications) =>
        grains.GetGrain<INotificationOutboxGrain>(spaceId).AcceptAsync(notifications);
}

/// <summary>Nowhere (a simulation, a test of the log alone): taken at once.</summary>
internal sealed class NoHandover : INotificationHandover
{
    public static readonly NoHandover Instance = new();

    public Task HandOverAsync(string spaceId, IReadOnlyList<SpaceNotification> notifications) => Task.CompletedTask;
}
