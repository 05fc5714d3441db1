using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Fleet;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Benchmarks;

/// <summary>
/// What feeding the fleet view costs on the debit path: <see cref="GrainCallBenchmarks"/> with <c>Quota:Fleet:Enabled</c>
/// off and on (each acknowledged append writes the Space's figures into its slot; the slot joins the silo's queue once
/// per report interval).
/// </summary>
public class FleetFeedBenchmarks : GrainCallBenchmarks
{
    [Params("off", "on")]
    public string Fleet { get; set; } = "off";

    protected override void ConfigureSilo(ISiloBuilder silo) =>
        silo.Services.Configure<FleetOptions>(o => o.Enabled = Fleet == "on");
}

/// <summary>The feed's own step, alone: one acknowledged append of a commit written into a Space's slot, and (once per
/// report) the slot queued; the report itself is taken every 1,000 appends here, as a busy Space's would be.</summary>
[MemoryDiagnoser]
public class FleetSlotBenchmarks
{
    private readonly SpaceEvent[] _commit = [new HoldCommitted(2, DateTimeOffset.UnixEpoch.AddDays(20_000), "op-1", 0, "hold-1", null, 4)];
    private readonly SpaceState _state = new() { Created = true, Plan = PlanTier.Pro, Allowance = 500, Used = 4, Sequence = 2 };
    private FleetSlot _slot = null!;
    private int _acks;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var instruments = new FleetInstruments(new QuotaInstruments(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        var collector = new FleetCollector(null!, TimeProvider.System, Options.Create(new FleetOptions()), instruments, NullLogger<FleetCollector>.Instance);
        _slot = collector.NewSlot("bench-space")!;
    }

    [Benchmark]
    public void Acknowledged()
    {
        _slot.Acknowledged(_commit, _state);
        if (++_acks % 1_000 == 0)
        {
            // The collector's queue keeps the slot each time (nothing reports it here): one entry per 1,000 appends.
            _slot.Take();
        }
    }
}
