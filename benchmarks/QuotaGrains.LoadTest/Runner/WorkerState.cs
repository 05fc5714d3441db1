using HdrHistogram;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>The kinds of request the harness measures. <see cref="Flow"/> is a whole reserve → settle flow.</summary>
public enum OpKind
{
    Reserve,
    Commit,
    Refund,
    Balance,
    Replay,
    Flow,
}

/// <summary>One worker's counters and histograms. Only its worker writes them (no locks on the hot path); the
/// progress display reads the counters racily, and the runner merges everything once the workers are done.</summary>
public sealed class WorkerState
{
    /// <summary>Latencies are recorded in microseconds, from 1 µs up to 5 minutes, 3 significant digits.</summary>
    public const long HighestMicroseconds = 300_000_000;

    public static readonly OpKind[] Kinds = Enum.GetValues<OpKind>();

    private long _requests;
    private long _flows;
    private long _rejections;
    private long _errors;

    public WorkerState()
    {
        Histograms = Kinds.Select(_ => NewHistogram()).ToArray();
    }

    public LongHistogram[] Histograms { get; }

    /// <summary>Rejections by "kind: code", measured requests only.</summary>
    public Dictionary<string, long> Rejections { get; } = new(StringComparer.Ordinal);

    /// <summary>Errors (exceptions: the outcome is unknown) by "kind: exception type", every phase.</summary>
    public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public string? FirstError { get; set; }

    /// <summary>Outcomes that break the contract (a replay that is not the first outcome, a settle refused for
    /// a hold the harness holds). Any anomaly fails the audit.</summary>
    public List<string> Anomalies { get; } = [];

    public long AnomalyCount { get; set; }

    /// <summary>Credits the harness saw committed (acknowledged), every phase.</summary>
    public long CommittedCredits { get; set; }

    public long RefundedCredits { get; set; }

    /// <summary>When this worker last completed a measured operation (Stopwatch ticks).</summary>
    public long LastMeasuredCompletion { get; set; }

    /// <summary>Requests completed in any phase (for the live display; the report counts measured ones).</summary>
    public long Requests => Volatile.Read(ref _requests);

    public long Flows => Volatile.Read(ref _flows);

    public long MeasuredRequests => Histograms.Where((_, i) => i != (int)OpKind.Flow).Sum(h => h.TotalCount);

    public long RejectionCount => Volatile.Read(ref _rejections);

    public long ErrorCount => Volatile.Read(ref _errors);

    public static LongHistogram NewHistogram() => new(HighestMicroseconds, 3);

    /// <summary>Counts a completed request for the live display, and records its latency when it was measured.</summary>
    public void Record(OpKind kind, long elapsedTicks, bool measuring)
    {
        if (measuring)
        {
            var micros = Math.Clamp((long)(elapsedTicks * 1_000_000.0 / System.Diagnostics.Stopwatch.Frequency), 1, HighestMicroseconds);
            Histograms[(int)kind].RecordValue(micros);
        }

        if (kind == OpKind.Flow)
        {
            Volatile.Write(ref _flows, _flows + 1);
        }
        else
        {
            Volatile.Write(ref _requests, _requests + 1);
        }
    }

    public void Reject(OpKind kind, RejectionCode? code)
    {
        var key = $"{kind.ToString().ToLowerInvariant()}: {code?.ToString() ?? "?"}";
        Rejections[key] = Rejections.GetValueOrDefault(key) + 1;
        Volatile.Write(ref _rejections, _rejections + 1);
    }

    public void Error(OpKind kind, Exception exception)
    {
        var key = $"{kind.ToString().ToLowerInvariant()}: {exception.GetType().Name}";
        Errors[key] = Errors.GetValueOrDefault(key) + 1;
        FirstError ??= $"{key}: {exception.Message}";
        Volatile.Write(ref _errors, _errors + 1);
    }

    public void Anomaly(string note)
    {
        AnomalyCount++;
        if (Anomalies.Count < 20)
        {
            Anomalies.Add(note);
        }
    }
}
