using System.Diagnostics.Metrics;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>The engine's meters (meter name <see cref="MeterName"/>), exported by OpenTelemetry where configured.</summary>
internal sealed class QuotaInstruments : IDisposable
{
    public const string MeterName = "QuotaGrains";

    private readonly Meter _meter;

    public QuotaInstruments(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        Requests = _meter.CreateCounter<long>("quota.requests", description: "Requests decided by Space grains, by kind and outcome.");
        Credits = _meter.CreateCounter<long>("quota.credits", unit: "{credit}", description: "Credits moved, by movement (reserved, committed, refunded, expired).");
        WriteDuration = _meter.CreateHistogram<double>("quota.space.write.duration", unit: "ms", description: "Time to make a Space's changes durable.");
        WriteBatch = _meter.CreateHistogram<long>("quota.space.write.events", unit: "{event}", description: "Events made durable by one Space write (group commit).");
        JournalAppendDuration = _meter.CreateHistogram<double>("quota.journal.append.duration", unit: "ms", description: "Time for one journal block append to be acknowledged.");
        JournalBlockRecords = _meter.CreateHistogram<long>("quota.journal.block.records", unit: "{record}", description: "Records in one journal block (group commit across Spaces).");
        JournalRecoveryBytes = _meter.CreateCounter<long>("quota.journal.recovery.bytes", unit: "By", description: "Journal bytes read back for recovering Spaces (and retention).");
        SnapshotWrites = _meter.CreateCounter<long>("quota.space.snapshots", description: "Space snapshots written.");
        Rejections = _meter.CreateCounter<long>("quota.rejections", unit: "{request}", description: "Requests a Space refused, by kind (reserve, commit, ...) and code (InsufficientCredits, NotAMember, ...).");
    }

    /// <summary>The meter, for the observable gauges of <see cref="EngineGauges"/>.</summary>
    public Meter Meter => _meter;

    public Counter<long> Rejections { get; }

    public Histogram<double> JournalAppendDuration { get; }

    public Histogram<long> JournalBlockRecords { get; }

    public Counter<long> JournalRecoveryBytes { get; }

    public Counter<long> SnapshotWrites { get; }

    public Counter<long> Requests { get; }

    public Counter<long> Credits { get; }

    public Histogram<double> WriteDuration { get; }

    public Histogram<long> WriteBatch { get; }

    public void Dispose() => _meter.Dispose();
}
