using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Runtime;
using QuotaGrains.LoadTest.Options;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>
/// The engine in processes of its own, reached as a generation server reaches it: an Orleans client in the harness's
/// process connects to the gateways (static, loopback only) with the cluster's ids and spends through
/// <c>IQuotaClient</c>. Either a cluster already running (e.g. <c>deploy/local/start</c>), or, with
/// <see cref="ClusterTargetOptions.Silos"/>, one the harness starts: an Azurite (for the membership table, and the
/// storage with <c>azure</c>) and N silo processes (<c>src/QuotaGrains.Silo</c>, Release) with Azure Table membership on
/// free loopback ports; it waits until every silo is Active, connects to all their gateways, and stops them (SIGTERM)
/// and Azurite after the run. The report then has each silo's and Azurite's CPU beside the harness's.
/// </summary>
public sealed class ClusterTarget(ClusterTargetOptions options, Action<string>? info = null) : QuotaClientTarget
{
    private static readonly SemaphoreSlim BuildLock = new(1, 1);
    private static string? s_siloDll;
    private static int s_clusters;

    private readonly List<SiloHostProcess> _silos = [];
    private Azurite? _azurite;
    private string _clusterId = options.ClusterId;
    private string _serviceId = options.ServiceId;
    private IReadOnlyList<string> _gateways = options.Gateways;
    private readonly Stopwatch _startClock = new();
    private double _readySeconds;
    private string? _activations;

    private bool Owned => options.Silos > 0;

    private string StorageText => options.Storage.ToString().ToLowerInvariant();

    public override string Name => Owned
        ? $"engine, {options.Silos} silo{(options.Silos == 1 ? "" : "s")} ({StorageText}; client in its own process)"
        : $"cluster ({string.Join(", ", options.Gateways)})";

    public override string Key => Owned ? $"cluster{options.Silos}-{StorageText}" : "cluster";

    public override IReadOnlyList<ServerProcess> ServerProcesses =>
    [
        .. _silos.Select((silo, i) => new ServerProcess($"silo {i + 1}", silo.ProcessId)),
        .. _azurite is { ProcessId: > 0 } azurite ? [new ServerProcess("Azurite", azurite.ProcessId)] : Array.Empty<ServerProcess>(),
    ];

    public override async Task<TargetDiagnostics> DiagnosticsAsync()
    {
        var values = new Dictionary<string, string>
        {
            ["gateways"] = string.Join(", ", _gateways),
            ["cluster id / service id"] = $"{_clusterId} / {_serviceId}",
            ["client calls in the engine at most, while busy"] = ClientCallBound,
        };
        if (!Owned)
        {
            values["note"] = "the silos run in other processes, not started by the harness: their CPU and memory are not in the figures";
            return new TargetDiagnostics(values);
        }

        values["silos"] = string.Join("; ", _silos.Select((s, i) => string.Create(CultureInfo.InvariantCulture,
            $"silo {i + 1}: pid {s.ProcessId}, ports {s.SiloPort}/{s.GatewayPort}, log {s.LogPath}")));
        values["storage / membership"] = $"{StorageText} / Azure Table on Azurite ({_azurite?.Describe})";
        values["silos started and Active in (s)"] = _readySeconds.ToString("0.0", CultureInfo.InvariantCulture);
        values["activations by silo (after the audit)"] = _activations ?? await ActivationsAsync();
        values["silo log lines by level"] = string.Join("; ", _silos.Select((s, i) =>
            $"silo {i + 1}: " + string.Join(", ", s.Summary().LinesByLevel.Select(l => $"{l.Key} {l.Value}"))));
        var problems = _silos.SelectMany((s, i) => s.Summary().Problems.Select(p => $"silo {i + 1}: {p.Count} × {p.Key}")).Take(10).ToList();
        values["silo warnings and errors"] = problems.Count == 0 ? "none" : string.Join("; ", problems);
        return new TargetDiagnostics(values);
    }

    protected override async Task OnStartingAsync(CancellationToken cancellationToken)
    {
        if (!Owned)
        {
            return;
        }

        var dll = await SiloDllAsync(options.BuildSilo, info ?? (_ => { }), cancellationToken);
        _startClock.Restart();
        _azurite = await Azurite.StartAsync(info: info, cancellationToken: cancellationToken);
        var run = Interlocked.Increment(ref s_clusters);
        _clusterId = $"loadtest-{Environment.ProcessId}-{run}";
        _serviceId = _clusterId;
        var logs = Path.Combine(Path.GetTempPath(), "quota-loadtest", _clusterId);
        var environment = new Dictionary<string, string>
        {
            ["Quota__Silo__Clustering"] = "azure",
            ["Quota__Storage__Kind"] = StorageText,
        };
        for (var i = 1; i <= options.Silos; i++)
        {
            _silos.Add(SiloHostProcess.Start(dll, _azurite.ConnectionString, _serviceId, _clusterId, environment, Path.Combine(logs, $"silo{i}.log")));
        }

        try
        {
            await Task.WhenAll(_silos.Select(s => s.Ready)).WaitAsync(options.ReadyTimeout, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            var tails = string.Join(Environment.NewLine, _silos.Where(s => !s.Ready.IsCompletedSuccessfully).Select(s => $"--- {s.LogPath}{Environment.NewLine}{s.Tail()}"));
            throw new InvalidOperationException($"Not every silo got ready within {options.ReadyTimeout.TotalSeconds:0} s: {e.Message}{Environment.NewLine}{tails}", e);
        }

        _gateways = _silos.Select(s => $"127.0.0.1:{s.GatewayPort}").ToList();
        info?.Invoke($"{Name}: {options.Silos} silo process{(options.Silos == 1 ? "" : "es")} ready in {_startClock.Elapsed.TotalSeconds:0.0} s (gateways {string.Join(", ", _gateways)}; logs in {logs}).");
    }

    /// <summary>Every silo printed "Ready."; the membership table must also list them all as Active before load starts,
    /// or the first Spaces would be placed on the silos that happened to be seen first.</summary>
    protected override async Task OnStartedAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        if (!Owned)
        {
            return;
        }

        var management = services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.ReadyTimeout);
        while ((await management.GetHosts(onlyActive: true).WaitAsync(deadline.Token)).Count < options.Silos)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
        }

        _readySeconds = _startClock.Elapsed.TotalSeconds;
    }

    protected override IHost BuildHost()
    {
        var gateways = _gateways.Select(g => Endpoints.TryParseLoopback(g, out var endpoint, out var problem)
            ? endpoint
            : throw new ArgumentException($"--gateway '{g}': {problem}")).ToArray();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        // Quota__Client__… variables reach the client as they do a generation server's (e.g. its admission gate).
        builder.Configuration.AddEnvironmentVariables();
        LogGate.Configure(builder.Logging);
        builder.UseOrleansClient(client => client
            .UseStaticClustering(gateways)
            .Configure<ClusterOptions>(o =>
            {
                o.ClusterId = _clusterId;
                o.ServiceId = _serviceId;
            }));
        builder.Services.AddQuotaClient();
        return builder.Build();
    }

    /// <summary>Before the client stops: where the grains ended up (the audit has read every Space by then).</summary>
    protected override async Task OnStoppingAsync(IServiceProvider services)
    {
        if (Owned)
        {
            _activations = await ActivationsAsync(services);
        }
    }

    protected override async ValueTask OnDisposedAsync()
    {
        // The client has stopped (QuotaClientTarget.DisposeAsync); then the silos, as an orchestrator stops them, then
        // the storage they were using.
        var stops = await Task.WhenAll(_silos.Select(s => s.StopAsync(TimeSpan.FromSeconds(30))));
        if (stops.Any(stopped => !stopped))
        {
            info?.Invoke($"{Name}: {stops.Count(stopped => !stopped)} silo(s) did not exit within 30 s of SIGTERM and were killed.");
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
    }

    private Task<string> ActivationsAsync() => Services is { } services ? ActivationsAsync(services) : Task.FromResult("-");

    /// <summary>Space and user grain activations per silo, from the management grain.</summary>
    private async Task<string> ActivationsAsync(IServiceProvider services)
    {
        try
        {
            var statistics = await services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
            string SiloName(SiloAddress address) => _silos.FindIndex(s => s.SiloPort == address.Endpoint.Port) is >= 0 and var i ? $"silo {i + 1}" : address.ToString();
            return string.Join("; ", statistics
                .Where(s => s.GrainType.Contains("SpaceGrain", StringComparison.Ordinal) || s.GrainType.Contains("UserGrain", StringComparison.Ordinal))
                .GroupBy(s => s.GrainType.Contains("SpaceGrain", StringComparison.Ordinal) ? "Space grains" : "user grains")
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key}: " + string.Join(" / ", g.GroupBy(s => SiloName(s.SiloAddress)).OrderBy(s => s.Key, StringComparer.Ordinal)
                    .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} {s.Sum(x => x.ActivationCount):N0}")))));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"unknown ({e.GetType().Name}: {e.Message})";
        }
    }

    /// <summary>The silo is built once per harness process, however many runs start it.</summary>
    private static async Task<string> SiloDllAsync(bool build, Action<string> info, CancellationToken cancellationToken)
    {
        await BuildLock.WaitAsync(cancellationToken);
        try
        {
            return s_siloDll ??= await SiloHostProcess.BuildAsync(build, info, cancellationToken);
        }
        finally
        {
            BuildLock.Release();
        }
    }
}
