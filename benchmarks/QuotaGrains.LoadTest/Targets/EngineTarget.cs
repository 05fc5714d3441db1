using System.Diagnostics.Metrics;
using System.Globalization;
using HdrHistogram;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.LoadTest.Options;
using QuotaGrains.LoadTest.Targets.Azure;
using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>
/// A silo and its client in this process, as the engine's host runs them (<c>UseLocalhostClustering().AddQuotaGrains()</c>
/// plus <c>AddQuotaClient()</c>), on free loopback ports so that a silo already running here is not disturbed.
/// Environment variables such as <c>Quota__Spaces__HoldTimeToLive</c> reach the engine as they do in the silo.
/// It also listens to the engine's meters: Space writes and the events each write made durable (group commit).
/// With <c>azure</c> storage it runs on an Azurite: the one it is given (shared with the raw Table baseline of a
/// compare), else one it starts and stops itself; it reports Azurite's CPU and the HTTP requests sent to it.
/// </summary>
public sealed class EngineTarget(EngineTargetOptions options, Azurite? sharedAzurite = null, Action<string>? info = null) : QuotaClientTarget
{
    private static readonly string[] Instruments =
    [
        "quota.requests", "quota.space.write.events", "quota.space.write.duration", "quota.journal.block.records",
        "quota.journal.append.duration", "quota.space.snapshots",
    ];

    private readonly Dictionary<string, InstrumentStats> _meters = Instruments.ToDictionary(i => i, _ => new InstrumentStats(), StringComparer.Ordinal);
    private MeterListener? _listener;
    private volatile bool _measuring;
    private int _siloPort;
    private int _gatewayPort;
    private Azurite? _azurite = sharedAzurite;
    private Azurite? _ownAzurite;
    private AzuriteCpuWindow? _azuriteCpu;
    private AzureRequestCounter? _azureRequests;
    private long _markedAt;
    private long _snapshotsEver;
    private double _measuredSeconds;

    public override string Name => $"engine ({options.Storage.ToString().ToLowerInvariant()}{(options.BinaryMemorySnapshots ? ", binary snapshots" : "")})";

    public override string Key => $"engine-{options.Storage.ToString().ToLowerInvariant()}{(options.BinaryMemorySnapshots ? "-binary" : "")}";

    public override string HarnessRole => "silo + client";

    public override IReadOnlyList<ServerProcess> ServerProcesses => _azurite is { ProcessId: > 0 } azurite ? [new ServerProcess("Azurite", azurite.ProcessId)] : [];

    /// <summary>On Azurite, fewer at once: every setup step is a Table read or write, and Azurite's Table service is one
    /// Node thread whose cost per request grows with the table (a queue of 64 Spaces' requests overran the engine's
    /// 5 s storage timeout while 10,000 Spaces and 40,000 users were created).</summary>
    protected override int SetupParallelism => options.SetupParallelism > 0 ? options.SetupParallelism : options.Storage == StorageKind.Azure ? 16 : 64;

    /// <summary>With azure storage (unless <c>--no-settle</c>): a Space just set up is dirty, and would write a snapshot
    /// (with its ledger rows) <c>SnapshotInterval</c> after its first change: with thousands of Spaces, a wave of Table
    /// writes during the rest of setup and in the measured window. Write each one's snapshot as soon as it is set up, as
    /// the retention sweep does (<c>ISpaceGrain.SnapshotAsync</c>).</summary>
    protected override async Task AfterSpaceSetupAsync(SpaceModel space, CancellationToken cancellationToken)
    {
        if (options.Storage == StorageKind.Azure && options.Settle && Services is not null)
        {
            var grains = Services.GetRequiredService<IGrainFactory>();
            await RetryAsync(async () =>
            {
                await grains.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(space.Id).SnapshotAsync();
                return true;
            }, cancellationToken);
        }
    }

    /// <summary>With azure storage (unless <c>--no-settle</c>): after setup, every Space is asked again to write a
    /// snapshot if anything is not yet in one (nothing, normally: see <see cref="AfterSpaceSetupAsync"/>), so that the
    /// measured window starts from a steady journal. The window's own snapshots fall due every 2,000 events or one
    /// interval after its first events: a window shorter than the interval holds only the former (the report says how
    /// many it held).</summary>
    public override async Task<string?> SettleAsync(WorkloadModel model, Action<string> info, CancellationToken cancellationToken)
    {
        if (options.Storage != StorageKind.Azure || !options.Settle || Services is null)
        {
            return null;
        }

        var grains = Services.GetRequiredService<IGrainFactory>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var before = Interlocked.Read(ref _snapshotsEver);
        info($"{Name}: writing the snapshots of the {model.Spaces.Length:N0} Spaces set up (instead of SnapshotInterval later, during the measured window).");
        await Parallel.ForEachAsync(
            model.Spaces,
            new ParallelOptions { MaxDegreeOfParallelism = SetupParallelism, CancellationToken = cancellationToken },
            async (space, ct) => await RetryAsync(async () =>
            {
                await grains.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(space.Id).SnapshotAsync();
                return true;
            }, ct));
        return string.Create(CultureInfo.InvariantCulture, $"{Interlocked.Read(ref _snapshotsEver) - before:N0} snapshots written in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    public override Task MarkAsync(bool measuring)
    {
        if (measuring)
        {
            _azuriteCpu?.Start();
            _markedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        }
        else
        {
            _azuriteCpu?.Stop();
            _measuredSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(_markedAt).TotalSeconds;
        }

        _measuring = measuring;
        if (_azureRequests is not null)
        {
            _azureRequests.Measuring = measuring;
        }

        return Task.CompletedTask;
    }

    public override Task<TargetDiagnostics> DiagnosticsAsync()
    {
        static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
        var requests = _meters["quota.requests"];
        var spaceWrites = _meters["quota.space.write.events"];
        var writeTime = _meters["quota.space.write.duration"];
        var blocks = _meters["quota.journal.block.records"];
        var appendTime = _meters["quota.journal.append.duration"];
        var snapshots = _meters["quota.space.snapshots"];
        string PerSecond(double count) => _measuredSeconds > 0 ? (count / _measuredSeconds).ToString("N0", CultureInfo.InvariantCulture) : "-";
        var values = new Dictionary<string, string>
        {
            ["storage"] = options.Storage.ToString().ToLowerInvariant() + (options.BinaryMemorySnapshots ? " (experiment: binary snapshot serializer)" : ""),
            ["silo port / gateway port"] = $"{_siloPort} / {_gatewayPort}",
            ["client calls in the engine at most, while busy"] = ClientCallBound,
            ["requests decided by Space grains"] = N(requests.Sum),
            ["Space writes (group commits) / events per write"] = $"{N(spaceWrites.Count)} / {spaceWrites.MeanText}",
            ["Space write p50 / p99 / max (ms)"] = writeTime.PercentilesText,
            ["storage writes (journal appends) / records per append"] = $"{N(blocks.Count)} / {blocks.MeanText}",
            ["requests per storage write"] = blocks.Count == 0 ? "-" : (requests.Sum / blocks.Count).ToString("0.0", CultureInfo.InvariantCulture),
            ["journal append p50 / p99 / max (ms)"] = appendTime.PercentilesText,
            ["Space snapshots written"] = N(snapshots.Sum),
            ["journal appends per s / Space snapshots per s"] = $"{PerSecond(blocks.Count)} / {PerSecond(snapshots.Sum)}",
        };
        _azuriteCpu?.Describe(values);
        _azureRequests?.Describe(values, _measuredSeconds, requests.Sum);
        return Task.FromResult(new TargetDiagnostics(values));
    }

    protected override IHost BuildHost()
    {
        _siloPort = options.SiloPort > 0 ? options.SiloPort : LoopbackPorts.Next();
        _gatewayPort = options.GatewayPort > 0 ? options.GatewayPort : LoopbackPorts.Next();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Quota:Storage:Kind"] = options.Storage.ToString().ToLowerInvariant(),
            ["Quota:Storage:ProviderName"] = "quota",
            ["Quota:Storage:ConnectionString"] = _azurite?.ConnectionString,
        });
        builder.Configuration.AddEnvironmentVariables();
        LogGate.Configure(builder.Logging);
        var clusterId = $"quota-loadtest-{Environment.ProcessId}";
        builder.UseOrleans(silo => silo
            .UseLocalhostClustering(_siloPort, _gatewayPort, serviceId: "quota-loadtest", clusterId: clusterId)
            .AddQuotaGrains());
        if (options.BinaryMemorySnapshots)
        {
            // Configure runs before Orleans' post-configure default, which only fills an unset serializer.
            builder.Services.AddOptions<MemoryGrainStorageOptions>("quota").Configure<IServiceProvider>((o, sp) =>
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>()));
        }

        builder.Services.AddQuotaClient();
        StartListening();
        return builder.Build();
    }

    protected override async Task OnStartingAsync(CancellationToken cancellationToken)
    {
        if (options.Storage != StorageKind.Azure)
        {
            return;
        }

        if (_azurite is null)
        {
            _ownAzurite = await Azurite.StartAsync(info: info, cancellationToken: cancellationToken);
            _azurite = _ownAzurite;
        }

        info?.Invoke($"{Name}: {_azurite.Describe}");
        _azuriteCpu = new AzuriteCpuWindow(_azurite);
        _azureRequests = new AzureRequestCounter(_azurite.BlobPort, _azurite.TablePort);
    }

    protected override void OnStopped()
    {
        _listener?.Dispose();
        _listener = null;
        _azureRequests?.Dispose();
        _azureRequests = null;
    }

    protected override async ValueTask OnDisposedAsync()
    {
        if (_ownAzurite is not null)
        {
            await _ownAzurite.DisposeAsync();
            _ownAzurite = null;
        }
    }

    private void StartListening()
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == QuotaInstruments.MeterName && _meters.ContainsKey(instrument.Name))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "quota.space.snapshots")
            {
                Interlocked.Add(ref _snapshotsEver, value);
            }

            if (_measuring)
            {
                _meters[instrument.Name].Record(value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (_measuring)
            {
                _meters[instrument.Name].Record(value);
            }
        });
        _listener.Start();
    }

    /// <summary>Count, sum and (for durations, in ms) a latency histogram of one instrument's measurements. Recorded
    /// without a lock: grains on every thread record into it on each write, and a lock here was contended enough to
    /// cost the engine runs ~4 % of their CPU (read at the end of a run only).</summary>
    private sealed class InstrumentStats
    {
        private readonly LongConcurrentHistogram _micros = new(1, 60_000_000, 3);
        private long _count;
        private long _sumMicros;

        public long Count => Volatile.Read(ref _count);

        public double Sum => Volatile.Read(ref _sumMicros) / 1000.0;

        public string MeanText => Count == 0 ? "-" : (Sum / Count).ToString("0.0", CultureInfo.InvariantCulture);

        public string PercentilesText => _micros.TotalCount == 0 ? "-" : string.Create(CultureInfo.InvariantCulture,
            $"{_micros.GetValueAtPercentile(50) / 1000.0:0.###} / {_micros.GetValueAtPercentile(99) / 1000.0:0.###} / {_micros.GetMaxValue() / 1000.0:0.###}");

        public void Record(double value)
        {
            var micros = (long)Math.Round(value * 1000);
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _sumMicros, micros);
            _micros.RecordValue(Math.Clamp(micros, 1, _micros.HighestTrackableValue));
        }
    }
}
