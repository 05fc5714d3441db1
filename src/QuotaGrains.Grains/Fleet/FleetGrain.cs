using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Fleet;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Fleet;

/// <summary>How silos report their Spaces' figures to the fleet view: not part of the client contract.</summary>
[Alias("QuotaGrains.IFleetReportGrain")]
internal interface IFleetReportGrain : IGrainWithIntegerKey
{
    [Alias("Report")]
    Task ReportAsync(IReadOnlyList<FleetReport> reports);
}

/// <summary>What the fleet grain keeps in storage: the Spaces of its last snapshot.</summary>
[GenerateSerializer, Alias("QuotaGrains.FleetSnapshot")]
internal sealed class FleetSnapshot
{
    [Id(0)] public List<FleetReport> Spaces { get; set; } = [];
}

/// <summary>
/// The fleet view: one grain for the engine, fed one call per silo per report interval (never by asking the Spaces).
/// Its board is in memory; a snapshot of the Spaces closest to exhaustion (at most <see cref="FleetOptions.MaxSnapshotSpaces"/>
/// and <see cref="SnapshotBudgetBytes"/>)
/// is written every <see cref="FleetOptions.SnapshotInterval"/> when something changed, and on deactivation, so that a
/// restart does not forget them. What a restart forgets: Spaces beyond that bound and spending not in the snapshot,
/// until each Space's next change (or its next renewal, which the renewal clock makes happen even for a quiet Space).
/// </summary>
internal sealed class FleetGrain : Grain, IFleetGrain, IFleetReportGrain
{
    /// <summary>The snapshot's size bound: one Azure Table entity holds at most 960 KB of grain state.</summary>
    internal const int SnapshotBudgetBytes = 800 * 1024;

    private readonly IPersistentState<FleetSnapshot> _snapshot;
    private readonly FleetOptions _options;
    private readonly QuotaRules _rules;
    private readonly TimeProvider _time;
    private readonly FleetInstruments _instruments;
    private readonly ILogger<FleetGrain> _logger;
    private FleetBoard _board = new();
    private bool _dirty;

    public FleetGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storageOptions,
        IOptions<FleetOptions> options,
        QuotaRules rules,
        TimeProvider time,
        FleetInstruments instruments,
        ILogger<FleetGrain> logger)
    {
        _snapshot = stateFactory.Create<FleetSnapshot>(grainContext, "fleet", storageOptions.Value.ProviderName);
        _options = options.Value;
        _rules = rules;
        _time = time;
        _instruments = instruments;
        _logger = logger;
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _board = FleetBoard.Restore(_snapshot.State.Spaces, _time.GetUtcNow());
        _instruments.Tracking(_board.Count);
        this.RegisterGrainTimer(static (grain, _) => grain.WriteSnapshotAsync(), this, new GrainTimerCreationOptions(_options.SnapshotInterval, _options.SnapshotInterval));
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await WriteSnapshotAsync();
        _instruments.Tracking(0);
    }

    public Task ReportAsync(IReadOnlyList<FleetReport> reports)
    {
        var now = _time.GetUtcNow();
        foreach (var report in reports)
        {
            _board.Apply(report, now);
        }

        _dirty |= reports.Count > 0;
        _instruments.Tracking(_board.Count);
        return Task.CompletedTask;
    }

    public Task<FleetView> GetFleetAsync(int? top = null)
    {
        var n = top ?? _options.Top;
        if (n is < 1 or > 1_000)
        {
            throw new ArgumentOutOfRangeException(nameof(top), n, "top must be between 1 and 1,000.");
        }

        return Task.FromResult(_board.View(_time.GetUtcNow(), n, _rules.Spaces.ForecastMinimumElapsed, _options.ReportInterval));
    }

    private async Task WriteSnapshotAsync()
    {
        if (!_dirty)
        {
            return;
        }

        try
        {
            _dirty = false;
            _snapshot.State = new FleetSnapshot { Spaces = _board.Snapshot(_time.GetUtcNow(), _options.MaxSnapshotSpaces, SnapshotBudgetBytes) };
            await _snapshot.WriteStateAsync();
        }
        catch (Exception exception)
        {
            _dirty = true;
            FleetLog.SnapshotFailed(_logger, exception);
        }
    }
}
