using System.Diagnostics.Metrics;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>Notification delivery, on the engine's meter: attempts and deliveries by outcome, attempt latency, the
/// delay from the event to its first attempt, and the outbox depth (deliveries pending in active outboxes).</summary>
internal sealed class WebhookInstruments
{
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _deliveries;
    private readonly Histogram<double> _latency;
    private readonly Histogram<double> _delay;
    private long _depth;

    public WebhookInstruments(QuotaInstruments instruments)
    {
        var meter = instruments.Meter;
        _attempts = meter.CreateCounter<long>("quota.webhook.attempts", unit: "{attempt}", description: "Webhook delivery attempts, by result (success, http_error, timeout, error).");
        _deliveries = meter.CreateCounter<long>("quota.webhook.deliveries", unit: "{delivery}", description: "Deliveries ended, by outcome (delivered, failed: every attempt of the schedule failed).");
        _latency = meter.CreateHistogram<double>("quota.webhook.attempt.duration", unit: "ms", description: "Time of one delivery attempt, request to response headers.");
        _delay = meter.CreateHistogram<double>("quota.notification.delay", unit: "ms", description: "From the event's instant to its first delivery attempt.");
        meter.CreateObservableGauge("quota.webhook.outbox.depth", () => Volatile.Read(ref _depth), unit: "{delivery}", description: "Deliveries pending in the outboxes active on this silo.");
    }

    public void OnAttempt(string result, TimeSpan latency)
    {
        _attempts.Add(1, new KeyValuePair<string, object?>("result", result));
        _latency.Record(latency.TotalMilliseconds);
    }

    public void OnFirstAttempt(TimeSpan sinceEvent) => _delay.Record(Math.Max(0, sinceEvent.TotalMilliseconds));

    public void OnDeliveryEnded(bool delivered) => _deliveries.Add(1, new KeyValuePair<string, object?>("outcome", delivered ? "delivered" : "failed"));

    public void AddDepth(long change) => Interlocked.Add(ref _depth, change);
}
