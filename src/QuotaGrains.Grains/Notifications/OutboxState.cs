namespace QuotaGrains.Grains.Notifications;

/// <summary>A Space's outbox as stored (grain storage, beside the Space's snapshot): its notifications and their
/// deliveries, its own endpoints, and the log of attempts.</summary>
[GenerateSerializer, Alias("QuotaGrains.OutboxState")]
internal sealed class OutboxState
{
    /// <summary>The sequence of the last notification accepted: a hand-over at or below it is one already taken (the
    /// Space hands them over in order).</summary>
    [Id(0)] public long AcceptedThrough { get; set; }

    /// <summary>Oldest first.</summary>
    [Id(1)] public List<OutboxEntry> Entries { get; set; } = [];

    [Id(2)] public List<SpaceEndpoint> Endpoints { get; set; } = [];

    /// <summary>Delivery attempts, oldest first, bounded.</summary>
    [Id(3)] public List<WebhookDeliveryAttempt> Log { get; set; } = [];
}

/// <summary>One notification, its payload (built once: every attempt sends the same bytes) and a delivery per endpoint.</summary>
[GenerateSerializer, Alias("QuotaGrains.OutboxEntry")]
internal sealed class OutboxEntry
{
    [Id(0)] public SpaceNotification Notification { get; set; } = null!;

    [Id(1)] public string Payload { get; set; } = "";

    [Id(2)] public List<DeliveryState> Deliveries { get; set; } = [];

    [Id(3)] public DateTimeOffset AcceptedAt { get; set; }

    public bool Pending => Deliveries.Exists(d => d.Status == DeliveryStatus.Pending);
}

[GenerateSerializer, Alias("QuotaGrains.DeliveryState")]
internal sealed class DeliveryState
{
    [Id(0)] public string EndpointId { get; set; } = "";

    [Id(1)] public string Url { get; set; } = "";

    [Id(2)] public DeliveryStatus Status { get; set; }

    [Id(3)] public int Attempts { get; set; }

    [Id(4)] public DateTimeOffset? LastAttemptAt { get; set; }

    [Id(5)] public int? LastStatusCode { get; set; }

    [Id(6)] public string? LastError { get; set; }

    [Id(7)] public DateTimeOffset? NextAttemptAt { get; set; }

    public EndpointDelivery ToView() => new(EndpointId, Url, Status, Attempts, LastAttemptAt, LastStatusCode, LastError, NextAttemptAt);
}

/// <summary>An endpoint set by the Space's Owner or Admin.</summary>
[GenerateSerializer, Alias("QuotaGrains.SpaceEndpoint")]
internal sealed class SpaceEndpoint
{
    [Id(0)] public string Id { get; set; } = "";

    [Id(1)] public string Url { get; set; } = "";

    [Id(2)] public string Secret { get; set; } = "";

    [Id(3)] public List<string> Kinds { get; set; } = [];

    [Id(4)] public DateTimeOffset CreatedAt { get; set; }
}
