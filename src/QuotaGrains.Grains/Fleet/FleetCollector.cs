using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Fleet;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Fleet;

/// <summary>
/// Per silo: the Spaces that changed since the last report (their <see cref="FleetSlot"/>s, each queued once), sent to
/// the fleet grain every <see cref="FleetOptions.ReportInterval"/> in one call. A change acknowledged at t is in the
/// fleet view by the first report after t, so at most one interval and one call later; a report that fails goes back
/// into the slots and leaves with the next one (the view then lags by the outage). The timer is one-shot and set again
/// after each report, so a clock that jumps (a test's) causes one report, not one per interval skipped, and reports never
/// overlap.
/// </summary>
internal sealed class FleetCollector : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private readonly ConcurrentQueue<FleetSlot> _changed = new();
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly FleetOptions _options;
    private readonly FleetInstruments _instruments;
    private readonly ILogger<FleetCollector> _logger;
    private readonly Lock _lock = new();
    private ITimer? _timer;
    private Task _reporting = Task.CompletedTask;
    private bool _stopped;

    public FleetCollector(IGrainFactory grains, TimeProvider time, IOptions<FleetOptions> options, FleetInstruments instruments, ILogger<FleetCollector> logger)
    {
        _grains = grains;
        _time = time;
        _options = options.Value;
        _instruments = instruments;
        _logger = logger;
    }

    /// <summary>The report in progress, or the last one: a test awaits it after moving the clock.</summary>
    public Task Reporting
    {
        get
        {
            lock (_lock)
            {
                return _reporting;
            }
        }
    }

    /// <summary>A slot for a Space activating on this silo; <c>null</c> when the fleet view is off.</summary>
    public FleetSlot? NewSlot(string spaceId) => _options.Enabled ? new FleetSlot(spaceId, this) : null;

    public void Enqueue(FleetSlot slot) => _changed.Enqueue(slot);

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (!_options.Enabled)
        {
            return;
        }

        lifecycle.Subscribe(
            nameof(FleetCollector),
            ServiceLifecycleStage.Active,
            _ =>
            {
                _timer = _time.CreateTimer(static c => ((FleetCollector)c!).Tick(), this, _options.ReportInterval, Timeout.InfiniteTimeSpan);
                return Task.CompletedTask;
            },
            async cancellationToken =>
            {
                lock (_lock)
                {
                    _stopped = true;
                }

                _timer?.Dispose();

                // What changed last goes out before the silo does (best effort: the Spaces report again where they go).
                await Reporting.WaitAsync(cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
                await ReportAsync().WaitAsync(cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
            });
    }

    /// <summary>Sends what changed since the last report, in one call; nothing when nothing changed.</summary>
    public async Task ReportAsync()
    {
        var slots = new List<FleetSlot>();
        while (_changed.TryDequeue(out var slot))
        {
            slots.Add(slot);
        }

        if (slots.Count == 0)
        {
            return;
        }

        var reports = slots.Select(s => s.Take()).ToArray();
        try
        {
            await _grains.GetGrain<IFleetReportGrain>(IFleetGrain.Key).ReportAsync(reports);
            _instruments.Reported(reports.Length);
        }
        catch (Exception exception)
        {
            for (var i = 0; i < slots.Count; i++)
            {
                slots[i].Restore(reports[i]);
            }

            _instruments.ReportFailed();
            FleetLog.ReportFailed(_logger, exception, reports.Length);
        }
    }

    public void Dispose() => _timer?.Dispose();

    private void Tick()
    {
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _reporting = ReportThenRearmAsync();
        }
    }

    private async Task ReportThenRearmAsync()
    {
        await Task.Yield();
        try
        {
            await ReportAsync();
        }
        finally
        {
            lock (_lock)
            {
                if (!_stopped)
                {
                    _timer?.Change(_options.ReportInterval, Timeout.InfiniteTimeSpan);
                }
            }
        }
    }
}
