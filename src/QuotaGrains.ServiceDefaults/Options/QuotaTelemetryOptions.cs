namespace QuotaGrains.ServiceDefaults.Options;

/// <summary>What a host exports (section <c>Quota:Telemetry</c>). OTLP export is on when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (metrics, traces and logs), as in every OpenTelemetry SDK.</summary>
public sealed class QuotaTelemetryOptions
{
    public const string SectionName = "Quota:Telemetry";

    /// <summary>Spans of the engine and of Orleans' application grain calls (default on). Off, a silo also leaves out
    /// the grain call filters that carry a trace from call to call.</summary>
    public bool Traces { get; set; } = true;

    /// <summary>How a silo carries traces through grain calls when <see cref="Traces"/> is on (default
    /// <see cref="GrainCallTracing.Sampled"/>).</summary>
    public GrainCallTracing GrainCalls { get; set; } = GrainCallTracing.Sampled;

    /// <summary>The share of traces started here that are recorded (default 0.01). A span whose parent was sampled
    /// (a generation server's request, the client's reserve) is always recorded: the sampler is parent-based.</summary>
    public double TraceSamplingRatio { get; set; } = 0.01;

    /// <summary>Serve the metrics for Prometheus to scrape at <see cref="MetricsPath"/> (default on).</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>Where Prometheus scrapes (default <c>/metrics</c>).</summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (double.IsNaN(TraceSamplingRatio) || TraceSamplingRatio is < 0 or > 1)
        {
            yield return $"TraceSamplingRatio {TraceSamplingRatio} must be between 0 and 1.";
        }

        if (!Enum.IsDefined(GrainCalls))
        {
            yield return $"GrainCalls {GrainCalls} must be Sampled or EveryCall.";
        }

        if (string.IsNullOrWhiteSpace(MetricsPath) || !MetricsPath.StartsWith('/') || MetricsPath.StartsWith("/health/", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"MetricsPath '{MetricsPath}' must start with '/' and not be under /health/.";
        }
    }
}

/// <summary>How grain calls take part in traces (<c>Quota:Telemetry:GrainCalls</c>).</summary>
public enum GrainCallTracing
{
    /// <summary>A grain call gets spans, and carries its trace on, only when its caller's span is recorded (the
    /// engine's own filters): an unsampled call costs one check. A grain call is never the root of a trace.</summary>
    Sampled,

    /// <summary>Orleans' <c>AddActivityPropagation()</c>: every call starts an Activity in and out (unrecorded when not
    /// sampled) and carries its context; a call without a traced caller starts a trace, sampled by the ratio. Measured
    /// to cost the debit path ~2x its allocations (benchmarks/RESULTS.md, "Telemetry: what it costs").</summary>
    EveryCall,
}
