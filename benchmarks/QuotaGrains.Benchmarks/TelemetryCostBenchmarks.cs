using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace QuotaGrains.Benchmarks;

/// <summary>
/// What the silo's telemetry costs on the debit path (issue 17): <see cref="GrainCallBenchmarks"/> with telemetry
/// <c>off</c> against the silo's wiring (<c>AddQuotaServiceDefaults</c> with its defaults: metrics collected by the
/// Prometheus reader that nobody scrapes, traces sampled parent-based at 0.01) and either grain call propagation:
/// Orleans' (<c>orleans</c>: <c>AddActivityPropagation()</c>, what the silo shipped first, now
/// <c>Quota:Telemetry:GrainCalls=EveryCall</c>) or the engine's (<c>sampled</c>: <c>AddSampledTracePropagation()</c>,
/// the default now: no grain call filter, the debit path's own code carries a sampled trace); <c>metrics</c> is the service defaults with traces off, to tell the two costs apart.
/// </summary>
public class TelemetryCostBenchmarks : GrainCallBenchmarks
{
    [Params("off", "metrics", "orleans", "sampled")]
    public string Telemetry { get; set; } = "off";

    protected override void ConfigureHost(HostApplicationBuilder builder)
    {
        if (Telemetry == "off")
        {
            return;
        }

        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Quota:Telemetry:Traces"] = Telemetry == "metrics" ? "false" : "true" });
        builder.AddQuotaServiceDefaults();
        if (Telemetry == "sampled")
        {
            builder.Services.AddSampledTracePropagation();
        }
    }

    protected override void ConfigureSilo(ISiloBuilder silo)
    {
        if (Telemetry == "orleans")
        {
            silo.AddActivityPropagation();
        }
    }
}
