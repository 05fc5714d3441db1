using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using QuotaGrains.Silo.Hosting;

namespace QuotaGrains.Tests.Hosting;

/// <summary>The engine's web host as <c>Program.cs</c> builds it (<see cref="QuotaEngineHostExtensions.AddQuotaEngine"/>,
/// <see cref="QuotaEngineHostExtensions.MapQuotaEngineEndpoints"/>), in this process on free loopback ports, with
/// in-memory exporters that collect its spans and metrics.</summary>
public sealed class EngineWebHost : IAsyncDisposable
{
    /// <summary>The source of the spans a test starts as the "upstream request" its calls run in.</summary>
    public static readonly ActivitySource Upstream = new("QuotaGrains.Tests.Upstream");

    private readonly WebApplication _app;

    private EngineWebHost(WebApplication app, int httpPort, Collected<Activity> spans, Collected<MetricSnapshot> metrics)
    {
        _app = app;
        Spans = spans;
        Metrics = metrics;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Spans exported so far (every recorded span in this process: filter by trace id).</summary>
    public Collected<Activity> Spans { get; }

    public Collected<MetricSnapshot> Metrics { get; }

    /// <summary>Starts the host in the <c>Production</c> environment (or <paramref name="environment"/>) with <paramref name="settings"/> over its
    /// defaults; <paramref name="services"/> registers services before the engine's (which add theirs only if absent).
    /// Root spans are never sampled here (ratio 0): only the traces a test starts as sampled are recorded, not those of
    /// the other tests running in this process.</summary>
    public static async Task<EngineWebHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null, string? environment = null)
    {
        var ports = LoopbackPorts.Take(3);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment ?? Environments.Production, ContentRootPath = AppContext.BaseDirectory });
        var configuration = new Dictionary<string, string?>
        {
            ["Quota:Silo:SiloPort"] = ports[0].ToString(),
            ["Quota:Silo:GatewayPort"] = ports[1].ToString(),
            ["Quota:Silo:HttpPort"] = ports[2].ToString(),
            ["Quota:Silo:ServiceId"] = "web-host-" + Guid.NewGuid().ToString("N")[..8],
            ["Quota:Telemetry:TraceSamplingRatio"] = "0",
            ["Quota:Renewals:Enabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        services?.Invoke(builder.Services);
        builder.AddQuotaEngine(demo: false);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        var spans = new Collected<Activity>();
        var metrics = new Collected<MetricSnapshot>();
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource(Upstream.Name).AddInMemoryExporter(spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(metrics));

        var app = builder.Build();
        app.MapQuotaEngineEndpoints();
        await app.StartAsync();
        return new EngineWebHost(app, ports[2], spans, metrics);
    }

    /// <summary>A span as an upstream request (a generation server's) would be, sampled or not: what the engine's spans
    /// follow.</summary>
    public static Activity StartUpstreamRequest(bool sampled = true) =>
        Upstream.StartActivity("generate", ActivityKind.Server, new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), sampled ? ActivityTraceFlags.Recorded : ActivityTraceFlags.None, isRemote: true))
        ?? throw new InvalidOperationException("The upstream span was not created: is the tracer provider listening?");

    /// <summary>The spans of <paramref name="traceId"/> exported so far.</summary>
    public List<Activity> Trace(ActivityTraceId traceId) => Spans.Snapshot().Where(s => s.TraceId == traceId).ToList();

    /// <summary>Collects every metric now, and returns the latest snapshot of each by name.</summary>
    public Dictionary<string, MetricSnapshot> CollectMetrics()
    {
        Metrics.Clear();
        // (Its result is false: the Prometheus reader beside ours only collects on a scrape.)
        _app.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000);
        Assert.NotEmpty(Metrics);
        return Metrics.Snapshot().GroupBy(m => m.Name).ToDictionary(g => g.Key, g => g.Last());
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>What an in-memory exporter adds to, from the exporting thread, read by the test's thread.</summary>
public sealed class Collected<T> : ICollection<T>
{
    private readonly List<T> _items = [];

    public int Count
    {
        get
        {
            lock (_items)
            {
                return _items.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public List<T> Snapshot()
    {
        lock (_items)
        {
            return [.. _items];
        }
    }

    public void Add(T item)
    {
        lock (_items)
        {
            _items.Add(item);
        }
    }

    public void Clear()
    {
        lock (_items)
        {
            _items.Clear();
        }
    }

    public bool Contains(T item) => Snapshot().Contains(item);

    public void CopyTo(T[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

    public bool Remove(T item)
    {
        lock (_items)
        {
            return _items.Remove(item);
        }
    }

    public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
