using QuotaGrains.LoadTest.Targets;
using QuotaGrains.LoadTest.Targets.Azure;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>The result of one <c>recovery</c> run: what the JSON report holds.</summary>
public sealed record RecoveryReport
{
    public required string Scenario { get; init; }

    public required string RunId { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required MachineInfo Machine { get; init; }

    public required RecoverySettings Settings { get; init; }

    /// <summary>One line: converged or not, in how long, how much was read.</summary>
    public required string Outcome { get; init; }

    public double SetupSeconds { get; init; }

    public required TrafficSummary Traffic { get; init; }

    /// <summary>From the new silo's process start to its "Ready." line; null if it never printed it.</summary>
    public double? ReadySeconds { get; init; }

    /// <summary>From the new silo's process start until the harness's client was connected to its gateway.</summary>
    public double? ClientConnectedSeconds { get; init; }

    public RecoveryPhaseReport? Balance { get; init; }

    public RecoveryPhaseReport? Reserve { get; init; }

    /// <summary>Storage traffic of the new silo, from its process start to the end of the reserve phase.</summary>
    public required StorageSummary Storage { get; init; }

    /// <summary>Azurite, the new silo and the harness over the same window.</summary>
    public required ProcessWindow Processes { get; init; }

    /// <summary>Once a second from the new silo's process start.</summary>
    public required IReadOnlyList<RecoveryTimelineRow> Timeline { get; init; }

    public SiloLogSummary? FirstSiloLog { get; init; }

    public SiloLogSummary? SecondSiloLog { get; init; }

    public required RecoveryAuditReport Audit { get; init; }

    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>What the run was asked to do.</summary>
public sealed record RecoverySettings(
    int Spaces,
    double TailMiB,
    int Concurrency,
    double TimeoutSeconds,
    double RetryDelayMs,
    int Seed,
    bool Proxy,
    string Azurite,
    string ServiceId,
    IReadOnlyDictionary<string, string> FirstSiloEnvironment,
    IReadOnlyDictionary<string, string> InheritedQuotaEnvironment,
    string SiloAssembly);

/// <summary>The first silo's life: setup, traffic until the tail was long enough, and the kill.</summary>
public sealed record TrafficSummary(
    double Seconds,
    long Flows,
    double FlowsPerSecond,
    long CommitsAcknowledged,
    long CreditsAcknowledged,
    int SpacesWithAcknowledgedCommit,
    long FlowsOfUnknownOutcome,
    IReadOnlyDictionary<string, long> Errors,
    long Anomalies,
    long JournalBytesAfterSetup,
    long JournalBytesAtKill,
    long TailBytes,
    bool TailReached,
    IReadOnlyDictionary<string, long> SegmentsAtKill,
    string KillReason);

/// <summary>One recovery phase: every Space asked once (with retries) until it answers, <c>Concurrency</c> at once.</summary>
public sealed record RecoveryPhaseReport(
    string Name,
    int Spaces,
    int Served,
    bool Converged,
    double StartedSecondsAfterProcessStart,
    double? AllServedSecondsAfterProcessStart,
    double? AllServedSecondsAfterReady,
    double? AllServedSecondsAfterPhaseStart,
    double EndedSecondsAfterProcessStart,
    LatencySummary FirstAnswer,
    LatencySummary AnsweredAfterPhaseStart,
    long Calls,
    int SpacesRetried,
    int MostAttempts,
    IReadOnlyDictionary<string, long> Failures,
    IReadOnlyDictionary<string, string> FailureSamples,
    IReadOnlyDictionary<string, long> Rejections);

/// <summary>Milliseconds: p50 / p90 / p99 / max of the Spaces that answered.</summary>
public sealed record LatencySummary(long Count, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

/// <summary>What the new silo read and wrote: through the counting proxy per service, and Azurite's own I/O counters.</summary>
public sealed record StorageSummary(
    bool Proxied,
    ProxyServiceSummary? Blob,
    ProxyServiceSummary? Table,
    long AzuriteSyscallBytesRead,
    long AzuriteSyscallBytesWritten,
    long AzuriteDiskBytesRead,
    long AzuriteDiskBytesWritten);

public sealed record ProxyServiceSummary(
    string Service,
    long Connections,
    long Requests,
    long BytesToAzurite,
    long BytesFromAzurite,
    long ResponseBodyBytes,
    long CutResponses,
    long CutBodyBytes,
    long ParseErrors,
    IReadOnlyDictionary<string, long> ConnectionEnds,
    IReadOnlyList<ProxyKindRow> Kinds);

/// <summary>CPU seconds and % of one core over the recovery window; resident memory at its end.</summary>
public sealed record ProcessWindow(
    double Seconds,
    double AzuriteCpuSeconds,
    double AzuriteCpuPercent,
    double AzuriteMainThreadCpuSeconds,
    double AzuriteMainThreadCpuPercent,
    double AzuriteRssMiB,
    double SiloCpuSeconds,
    double SiloCpuPercent,
    double SiloRssMiB,
    double HarnessCpuSeconds,
    double HarnessCpuPercent,
    int AzuriteMostSockets,
    int AzuriteMostOtherFileDescriptors,
    long? AzuriteMaxOpenFiles);

public sealed record RecoveryTimelineRow(
    double Seconds,
    string Phase,
    int BalanceServed,
    int ReserveServed,
    long Failures,
    long BlobBytesFromAzurite,
    long BlobRequests,
    long TableRequests,
    long CutResponses,
    double AzuriteCpuPercent,
    double AzuriteMainThreadCpuPercent,
    double SiloCpuPercent,
    int AzuriteSockets,
    int AzuriteOtherFileDescriptors);

/// <summary>The audit: at recovery (the balance answers against what was acknowledged before the kill), then exact
/// after every flow of unknown outcome was resolved.</summary>
public sealed record RecoveryAuditReport(
    string Status,
    string Method,
    int SpacesCheckedAtRecovery,
    int SpacesFailedAtRecovery,
    int SpacesCheckedAfter,
    int SpacesFailedAfter,
    int SpacesUnread,
    long FlowsOfUnknownOutcome,
    long ResolvedCommitHadLanded,
    long ResolvedReserveHadLanded,
    long ResolvedNeitherHadLanded,
    long ResolvedHoldExpired,
    long Unresolved,
    long CreditsAcknowledged,
    long CreditsResolved,
    long UsedSeen,
    IReadOnlyList<string> Failures);
