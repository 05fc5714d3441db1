using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace QuotaGrains.Client.Diagnostics;

/// <summary>The client's spans and meters (source and meter <c>QuotaGrains</c>, as the engine's): a reserve or settle
/// is a span that Orleans' grain call spans and the engine's follow; retries and unknown outcomes are counted by their
/// cause (the exception's type).</summary>
internal sealed class ClientTelemetry : IDisposable
{
    public const string Name = "QuotaGrains";

    private static readonly ActivitySource Source = new(Name);
    private readonly Meter _meter;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _unavailable;

    public ClientTelemetry(IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(Name) ?? new Meter(Name);
        _retries = _meter.CreateCounter<long>("quota.client.retries", unit: "{attempt}", description: "Calls the client sent again after an unknown outcome, by cause (the exception's type).");
        _unavailable = _meter.CreateCounter<long>("quota.client.unavailable", unit: "{call}", description: "Calls that ended in QuotaUnavailableException for the caller (every attempt's outcome unknown), by the last cause.");
    }

    public void Retried(Exception cause) => _retries.Add(1, new KeyValuePair<string, object?>("cause", cause.GetType().Name));

    public void GaveUp(Exception cause) => _unavailable.Add(1, new KeyValuePair<string, object?>("cause", cause.GetType().Name));

    /// <summary>A span for a call of the client (<c>quota.reserve</c>, <c>quota.commit</c>, <c>quota.refund</c>), or
    /// null when nobody records it. It continues the caller's trace (a generation server's request) and never starts
    /// one: without a caller's span, a sampler would build an unrecorded root Activity for every debit it drops.</summary>
    public static Activity? Start(string name, string spaceId, string operationId)
    {
        if (Activity.Current is null)
        {
            return null;
        }

        var span = Source.StartActivity(name, ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("quota.space.id", spaceId);
            span.SetTag("quota.operation.id", operationId);
        }

        return span;
    }

    /// <summary>Ends <paramref name="span"/> with the call's outcome (Accepted, Replayed, or the rejection's code).</summary>
    public static void End(Activity? span, OperationResult result)
    {
        if (span is null)
        {
            return;
        }

        span.SetTag("quota.outcome", result.Rejection?.Code.ToString() ?? (result.Replayed ? "Replayed" : "Accepted"));
        span.Dispose();
    }

    /// <summary>Ends <paramref name="span"/> as failed; false, for an exception filter that lets the exception pass.</summary>
    public static bool Failed(Activity? span, Exception exception)
    {
        if (span is not null)
        {
            span.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
            span.Dispose();
        }

        return false;
    }

    public void Dispose() => _meter.Dispose();
}
