using System.Diagnostics.Metrics;
using QuotaGrains.Grains.Diagnostics;

namespace QuotaGrains.Grains.Fleet;

/// <summary>The fleet view's instruments, on the engine's meter: what each silo reports, and what the fleet grain tracks
/// (on the silo where it is active; 0 elsewhere).</summary>
internal sealed class FleetInstruments
{
    private readonly Histogram<long> _reportSpaces;
    private readonly Counter<long> _reportsFailed;
    private int _tracked;

    public FleetInstruments(QuotaInstruments instruments)
    {
        var meter = instruments.Meter;
        _reportSpaces = meter.CreateHistogram<long>("quota.fleet.report.spaces", unit: "{space}",
            description: "Spaces in one report of a silo to the fleet view (those that changed in the interval).");
        _reportsFailed = meter.CreateCounter<long>("quota.fleet.reports.failed", unit: "{report}",
            description: "Reports to the fleet view that failed (their figures leave with the next report).");
        meter.CreateObservableGauge("quota.fleet.spaces", () => Volatile.Read(ref _tracked), unit: "{space}",
            description: "Spaces the fleet view tracks (on the silo where the fleet grain is active).");
    }

    public void Reported(int spaces) => _reportSpaces.Record(spaces);

    public void ReportFailed() => _reportsFailed.Add(1);

    public void Tracking(int spaces) => Volatile.Write(ref _tracked, spaces);
}
