using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace QuotaGrains.Tests.Storage;

/// <summary>Counts the Space snapshots one silo writes (its <c>quota.space.snapshots</c> counter) from now on.</summary>
public sealed class SnapshotCounter : IDisposable
{
    private readonly MeterListener _listener;
    private long _count;

    public SnapshotCounter(IServiceProvider silo)
    {
        var meterFactory = silo.GetRequiredService<IMeterFactory>();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "quota.space.snapshots" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _count, value));
        _listener.Start();
    }

    public long Count => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
