namespace QuotaGrains.ServiceDefaults;

/// <summary>The names a host's telemetry listens to, and the health endpoints' paths and tags.</summary>
public static class QuotaTelemetry
{
    /// <summary>The engine's and the client's meter (<c>quota.*</c> instruments).</summary>
    public const string MeterName = "QuotaGrains";

    /// <summary>The engine's and the client's activity source (spans <c>quota.*</c>).</summary>
    public const string ActivitySourceName = "QuotaGrains";

    /// <summary>Orleans' meter (messaging, grains, membership, ...).</summary>
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>Orleans' spans of application grain calls (with activity propagation on the silo and client builders).
    /// Its runtime's own calls (<c>Microsoft.Orleans.Runtime</c>: membership probes, directory) are left out.</summary>
    public const string OrleansApplicationSourceName = "Microsoft.Orleans.Application";

    /// <summary>Answers while the process serves HTTP: a failing liveness probe restarts the process.</summary>
    public const string LivePath = "/health/live";

    /// <summary>Every check tagged <see cref="ReadyTag"/>: a failing readiness probe takes the process out of service.</summary>
    public const string ReadyPath = "/health/ready";

    public const string LiveTag = "live";

    public const string ReadyTag = "ready";
}
