using QuotaGrains.LoadTest.Targets;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>
/// The result of one <c>recovery --silos N</c> run (N &gt; 1): the Spaces set up on the first silo alone, the others
/// joined, <c>kill -9</c> of the first, and its Spaces served again by the survivors. Every time is in seconds after
/// the kill unless its name says otherwise.
/// </summary>
public sealed record ClusterRecoveryReport
{
    public required string Scenario { get; init; }

    public required string RunId { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required MachineInfo Machine { get; init; }

    public required RecoverySettings Settings { get; init; }

    public required int Silos { get; init; }

    public required string ClusterId { get; init; }

    /// <summary>One line: detection, recovery, total, bytes read per survivor.</summary>
    public required string Outcome { get; init; }

    public double SetupSeconds { get; init; }

    /// <summary>The first silo's traffic, from the end of setup to the kill (the survivors joined during it).</summary>
    public required TrafficSummary Traffic { get; init; }

    /// <summary>From the start of the survivors' processes until every silo was Active in the membership table and the
    /// harness's recovery client was connected to the survivors' gateways (traffic kept running on the first silo).</summary>
    public double JoinSeconds { get; init; }

    public required DeadSiloSummary DeadSilo { get; init; }

    public required ClusterTimes Times { get; init; }

    /// <summary>The balance phase: the clock is the kill (<c>…AfterProcessStart</c> fields are seconds after the kill).</summary>
    public RecoveryPhaseReport? Balance { get; init; }

    /// <summary>The reserve phase, after the balance phase; seconds after the kill as for <see cref="Balance"/>.</summary>
    public RecoveryPhaseReport? Reserve { get; init; }

    public required IReadOnlyList<SurvivorReport> Survivors { get; init; }

    /// <summary>Azurite and the harness from the kill to the end of the reserve phase.</summary>
    public required ClusterProcessWindow Processes { get; init; }

    /// <summary>Once a second from the kill.</summary>
    public required IReadOnlyList<ClusterTimelineRow> Timeline { get; init; }

    public SiloLogSummary? FirstSiloLog { get; init; }

    public required RecoveryAuditReport Audit { get; init; }

    /// <summary><c>/proc/loadavg</c> (1, 5, 15 minutes) at the start, at the kill and at the end of the reserve phase.</summary>
    public required IReadOnlyList<string> LoadAverages { get; init; }

    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>The killed silo and its journal stream as listed right after the kill.</summary>
public sealed record DeadSiloSummary(
    string MembershipRowKey,
    int ProcessId,
    string StreamPrefix,
    int Segments,
    long StreamBytes,
    long StreamBytesAfterSetup);

/// <summary>The timeline of the kill, from polling the membership table every <see cref="PollMilliseconds"/> ms.</summary>
/// <param name="FirstSuspectedSeconds">The first poll that saw a survivor's vote (SuspectingSilos) in the dead silo's row.</param>
/// <param name="DeclaredDeadSeconds">Detection: the first poll that saw the row's Status <c>Dead</c>.</param>
/// <param name="AllBalancesServedSeconds">Total: every Space answered a balance read on a survivor.</param>
/// <param name="RecoverySeconds">Recovery: all balances served minus detection.</param>
/// <param name="AllReservesServedSeconds">Every Space then took a reserve (the phase after the balance reads).</param>
public sealed record ClusterTimes(
    double PollMilliseconds,
    double? FirstSuspectedSeconds,
    double? DeclaredDeadSeconds,
    double? FirstBalanceServedSeconds,
    double? AllBalancesServedSeconds,
    double? RecoverySeconds,
    double? AllReservesServedSeconds,
    double TargetRecoverySeconds,
    bool? RecoveryWithinTarget);

/// <summary>One surviving silo: the Spaces it holds after the balance phase and its storage traffic from the kill to
/// the end of the reserve phase, through its own counting proxies.</summary>
/// <param name="SpacesActive">SpaceGrain activations on it after the balance phase (IManagementGrain.GetSimpleGrainStatistics).</param>
/// <param name="JournalBytesRead">Body bytes of its ranged blob reads (<c>GET blob</c>): the journal it read.</param>
/// <param name="ReadOverTail">Those bytes over the dead stream's bytes after setup (1.0 = the tail read once).</param>
/// <param name="ReadOverStream">Those bytes over the dead stream's whole length.</param>
/// <param name="JournalBytesFromPeers">Bytes of the dead stream the other survivor gave it (its reader's log lines): the
/// survivors split the read (<c>Quota:Journal:ShareDeadStreamReads</c>).</param>
/// <param name="MembershipRequests">Requests of the Table traffic that were Orleans' membership table (OrleansSiloInstances); they are in <see cref="Table"/> too.</param>
public sealed record SurvivorReport(
    string Name,
    int ProcessId,
    int SiloPort,
    int GatewayPort,
    int SpacesActive,
    IReadOnlyDictionary<string, int> Activations,
    long JournalBytesRead,
    double ReadOverTail,
    double ReadOverStream,
    long JournalBytesFromPeers,
    ProxyDelta Blob,
    ProxyDelta Table,
    long MembershipRequests,
    long MembershipBytes,
    double CpuSeconds,
    double CpuPercent,
    double RssMiB,
    SiloLogSummary Log);

/// <summary>A counting proxy's traffic over a window (its counters at the end minus those at the start).</summary>
public sealed record ProxyDelta(
    long Requests,
    long BytesToAzurite,
    long BytesFromAzurite,
    long ResponseBodyBytes,
    long CutResponses,
    IReadOnlyList<ProxyKindDelta> Kinds);

/// <summary>One kind of request over the window: "GET blob 206", "GET entity QuotaState 200", …</summary>
public sealed record ProxyKindDelta(string Kind, long Count, long RequestBodyBytes, long ResponseBodyBytes);

public sealed record ClusterProcessWindow(
    double Seconds,
    double AzuriteCpuSeconds,
    double AzuriteCpuPercent,
    double AzuriteMainThreadCpuSeconds,
    double AzuriteMainThreadCpuPercent,
    double AzuriteRssMiB,
    double HarnessCpuSeconds,
    double HarnessCpuPercent);

/// <summary>One second after the kill: progress, the dead silo's membership status, and per survivor (in the order of
/// <see cref="ClusterRecoveryReport.Survivors"/>) journal bytes read, Table requests and CPU %.</summary>
public sealed record ClusterTimelineRow(
    double Seconds,
    string Phase,
    string DeadSiloStatus,
    int BalanceServed,
    int ReserveServed,
    long Failures,
    IReadOnlyList<long> JournalBytesRead,
    IReadOnlyList<long> TableRequests,
    IReadOnlyList<double> SiloCpuPercent,
    double AzuriteCpuPercent,
    double AzuriteMainThreadCpuPercent);
