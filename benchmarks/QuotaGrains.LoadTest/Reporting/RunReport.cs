using HdrHistogram;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>The result of one run against one target: what the JSON report holds.</summary>
public sealed record RunReport
{
    public required string Target { get; init; }

    public required string TargetKey { get; init; }

    public required string Scenario { get; init; }

    public required string RunId { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required MachineInfo Machine { get; init; }

    public required WorkloadSummary Workload { get; init; }

    public double SetupSeconds { get; init; }

    public double WarmupSeconds { get; init; }

    /// <summary>From the start of measuring until the last measured request completed.</summary>
    public double MeasuredSeconds { get; init; }

    /// <summary>Requests (reserve, commit, refund, balance, replay) completed while measuring.</summary>
    public long Requests { get; init; }

    public double RequestsPerSecond { get; init; }

    /// <summary>Requests that change state, per second: reserve + commit + refund (the engine, Redis); upserts (the
    /// raw Table baseline). Balance reads and replays write nothing.</summary>
    public double WritesPerSecond { get; init; }

    /// <summary>Reserve → settle flows completed while measuring (balance queries are not flows).</summary>
    public long Flows { get; init; }

    public double FlowsPerSecond { get; init; }

    /// <summary>Latency of every measured request, all kinds but <c>flow</c> together.</summary>
    public required LatencyStats AllRequests { get; init; }

    public required IReadOnlyList<LatencyStats> Kinds { get; init; }

    public required IReadOnlyDictionary<string, long> Rejections { get; init; }

    public long RejectionCount { get; init; }

    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    public long ErrorCount { get; init; }

    public string? FirstError { get; init; }

    public bool StoppedEarly { get; init; }

    public string? StopReason { get; init; }

    public required ProcessStats Process { get; init; }

    /// <summary>CPU and memory of every process of the run over the measured window: the harness's first (its role
    /// says what it held: the client, or silo + client), then those the target started (silos, Azurite, redis-server).</summary>
    public IReadOnlyList<ProcessUsage> Processes { get; init; } = [];

    /// <summary>The machine's 1-minute load average (<c>/proc/loadavg</c>) when measuring started and when it ended: on a
    /// machine shared with other work, what the figures were measured against.</summary>
    public string? LoadAverage { get; init; }

    /// <summary>Which round of a compare this run belongs to (1 for a single run).</summary>
    public int Round { get; init; } = 1;

    public required IReadOnlyDictionary<string, string> TargetDiagnostics { get; init; }

    public AuditReport? Audit { get; init; }
}

public sealed record LatencyStats(
    string Kind,
    long Count,
    double PerSecond,
    double MeanMs,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs)
{
    /// <summary>From a histogram of latencies in microseconds, over <paramref name="seconds"/> of measuring.</summary>
    public static LatencyStats From(string kind, LongHistogram h, double seconds)
    {
        static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
        return h.TotalCount == 0
            ? new LatencyStats(kind, 0, 0, 0, 0, 0, 0, 0, 0)
            : new LatencyStats(kind, h.TotalCount, Math.Round(h.TotalCount / seconds, 0), Math.Round(h.GetMean() / 1000.0, 3),
                Ms(h.GetValueAtPercentile(50)), Ms(h.GetValueAtPercentile(90)), Ms(h.GetValueAtPercentile(99)),
                Ms(h.GetValueAtPercentile(99.9)), Ms(h.GetMaxValue()));
    }
}

public sealed record MachineInfo(
    string Host,
    int ProcessorCount,
    string Cpu,
    string Os,
    string Runtime,
    double MemoryGiB,
    string? GitCommit,
    string Configuration,
    string Gc);

public sealed record WorkloadSummary(
    string Scenario,
    int Spaces,
    int Users,
    int MembersPerSpace,
    string Skew,
    double? ZipfTopShare,
    int Concurrency,
    double DurationSeconds,
    long OperationLimit,
    double WarmupSeconds,
    double FailureRate,
    int BatchSize,
    double BatchFraction,
    double BalanceFraction,
    double ReplayFraction,
    string PlanMix,
    long EnterpriseAllowance,
    int Seed);

/// <summary>CPU and memory of the harness process over the measured window. For the in-process engine that is
/// silo + client + load generator; for Redis it is client + load generator (the server's CPU is in the target's
/// diagnostics).</summary>
public sealed record ProcessStats(
    double CpuPercentOfOneCore,
    double CpuPercentOfMachine,
    double CpuMicrosecondsPerRequest,
    double WorkingSetMiB,
    double PeakWorkingSetMiB,
    double GcHeapMiB,
    double AllocatedMiBPerSecond,
    double AllocatedBytesPerRequest,
    int Gen0Collections,
    int Gen1Collections,
    int Gen2Collections,
    double GcPausePercent,
    int ThreadPoolThreads);

/// <summary>One process over the measured window: CPU in % of one core and per measured request, resident memory at
/// its end.</summary>
public sealed record ProcessUsage(string Role, int ProcessId, double CpuPercentOfOneCore, double CpuMicrosecondsPerRequest, double ResidentMiB);

public sealed record AuditReport(
    bool Passed,
    int SpacesChecked,
    int SpacesFailed,
    long CommittedCreditsAcknowledged,
    long UsedCreditsSeen,
    int UncertainFlows,
    int UncertainResolved,
    long Anomalies,
    IReadOnlyList<string> Failures);

/// <summary>A compare run: the engine and Redis on one workload, and the engine/Redis ratios (each within its round);
/// with several rounds, <see cref="Medians"/> holds the median of each ratio over the rounds.</summary>
public sealed record CompareReport(
    string Scenario,
    DateTimeOffset StartedAt,
    MachineInfo Machine,
    IReadOnlyList<RunReport> Runs,
    IReadOnlyList<RatioRow> Ratios,
    IReadOnlyList<RatioRow>? Medians = null);

/// <summary>Engine ÷ baseline, within one <see cref="Round"/> of a compare (a median row: <see cref="Round"/> is the
/// number of rounds, and the throughput bar counts as met when it was in most of them): throughput above 1 and p99
/// below 1 favour the engine. <see cref="WriteThroughputRatio"/>
/// compares state-changing requests per second (the fair measure against the raw Table baseline, which only writes).</summary>
public sealed record RatioRow(
    string Engine,
    string Baseline,
    double ThroughputRatio,
    double WriteThroughputRatio,
    double P99Ratio,
    double ReserveP99Ratio,
    double CommitP99Ratio,
    bool ThroughputBarMet,
    bool P99BarMet,
    int Round = 1);
