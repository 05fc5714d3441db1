namespace QuotaGrains.ServiceDefaults.Options;

/// <summary>What a host exports (section <c>Quota:Telemetry</c>). OTLP export is on when the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (metrics, traces and logs), as in every OpenTelemetry SDK.</summary>
public sealed class QuotaTelemetryOptions
{
    public const string SectionName = "Quota:Telemetry";

    /// <summary>Spans of the engine and of Orleans' application grain calls (default on). Off, a silo also leaves out
    /// Orleans' activity propagation, whose grain call filters run on every call.</summary>
    public bool Traces { get; set; } = true;

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

        if (string.IsNullOrWhiteSpace(MetricsPath) || !MetricsPath.StartsWith('/') || MetricsPath.StartsWith("/health/", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"MetricsPath '{MetricsPath}' must start with '/' and not be under /health/.";
        }
    }
}
