using System.Diagnostics.Metrics;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>The renewal index's meters (meter <see cref="QuotaInstruments.MeterName"/>, like the engine's others).</summary>
internal sealed class RenewalInstruments : IDisposable
{
    private readonly Meter _meter;

    public RenewalInstruments(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(QuotaInstruments.MeterName);
        Wakes = _meter.CreateCounter<long>("quota.renewal.wakes", description: "Spaces woken by the renewal index, by outcome (renewed, current, moved, missing, failed).");
        Lateness = _meter.CreateHistogram<double>("quota.renewal.lateness", unit: "ms", description: "From a renewal instant until the renewal the index woke for is durable.");
        Minutes = _meter.CreateCounter<long>("quota.renewal.clock.minutes", description: "Minutes the renewal clock dispatched to the index, by whether they were due already (catch-up).");
    }

    public Counter<long> Wakes { get; }

    public Histogram<double> Lateness { get; }

    public Counter<long> Minutes { get; }

    public void Dispose() => _meter.Dispose();
}
