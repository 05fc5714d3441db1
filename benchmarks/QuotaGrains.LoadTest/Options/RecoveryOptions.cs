namespace QuotaGrains.LoadTest.Options;

/// <summary>
/// The recovery benchmark (<c>recovery</c>): N Spaces on a silo process with rare snapshots, traffic until its journal
/// holds a tail of M MiB after the Spaces' snapshots, <c>kill -9</c>, then a new silo process on the same Azurite data
/// asked for every Space at once.
/// </summary>
public sealed record RecoveryOptions
{
    /// <summary>A label for reports: a preset's name (<c>large</c>, <c>audit</c>) or "custom".</summary>
    public string Scenario { get; init; } = "large";

    /// <summary>Silo processes. 1: the first silo is killed and a new one recovers. More: the Spaces are set up on the
    /// first silo alone, the others join before the kill (each with its own counting proxies) and recover its Spaces
    /// between them; all on Azure Table membership.</summary>
    public int Silos { get; init; } = 1;

    /// <summary>Spaces created (one member each, Enterprise, so that pools never run dry).</summary>
    public int Spaces { get; init; } = 10_000;

    /// <summary>The journal tail to build before the kill, in MiB: bytes appended after the end of setup, where every
    /// Space's snapshot lies at or before.</summary>
    public double TailMiB { get; init; } = 50;

    /// <summary>Requests in flight: traffic before the kill, and the Spaces asked at once during recovery.</summary>
    public int Concurrency { get; init; } = 256;

    /// <summary>Each recovery phase (balance reads, reserves) and the audit's reads stop after this long: what is not
    /// served by then is reported as not served.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(240);

    /// <summary>How long a worker waits after a failed call before asking the same Space again.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a silo process may take to print "Ready.".</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Traffic stops (and the silo is killed) after this long even if the tail is shorter than asked.</summary>
    public TimeSpan MaxTraffic { get; init; } = TimeSpan.FromMinutes(20);

    /// <summary>Spaces created at once during setup (every creation is Table writes on Azurite).</summary>
    public int SetupParallelism { get; init; } = 16;

    public long EnterpriseAllowance { get; init; } = 1_000_000_000_000;

    public int Seed { get; init; } = 42;

    /// <summary>Put the counting proxy between the new silo and Azurite's blob and table ports (requests, bytes, cut-off
    /// responses); without it only Azurite's own counters (CPU, <c>/proc/&lt;pid&gt;/io</c>) are reported.</summary>
    public bool Proxy { get; init; } = true;

    /// <summary>Azurite's data folder; null = a fresh temporary folder, deleted after the run.</summary>
    public string? AzuriteLocation { get; init; }

    /// <summary>Azurite keeps its data in memory instead of a folder (it outlives the silo either way; it is not
    /// restarted). For comparison: with data on disk Azurite reads extents from files.</summary>
    public bool AzuriteInMemory { get; init; }

    /// <summary>Azurite's limit of open file descriptors (<c>prlimit --nofile</c>); null = inherited from the harness.
    /// It matters: Azurite opens its extent file once per block it reads, so one download of a journal segment of
    /// thousands of blocks holds thousands of descriptors at once.</summary>
    public int? AzuriteMaxOpenFiles { get; init; }

    /// <summary>Keep Azurite's data folder after the run (a temporary one is deleted otherwise).</summary>
    public bool KeepAzuriteData { get; init; }

    /// <summary>Build <c>src/QuotaGrains.Silo</c> (Release) before starting it.</summary>
    public bool BuildSilo { get; init; } = true;

    /// <summary>Run the silos from a ReadyToRun publish of <c>src/QuotaGrains.Silo</c> instead of its build.</summary>
    public bool ReadyToRun { get; init; }

    /// <summary>Cluster scenario: Spaces of their own that the survivors serve before the kill (0 = none, survivors that
    /// joined cold). Created once the survivors joined, then reserve → commit traffic on them for
    /// <see cref="WarmUp"/> while the first silo's traffic goes on; it stops at the kill. A survivor in a cluster that
    /// has run a while has its code paths warm (compiled and tiered up, connections open): this measures that.</summary>
    public int WarmSurvivors { get; init; }

    /// <summary>How long the survivors' own Spaces get traffic before the kill (with <see cref="WarmSurvivors"/>).</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Then the survivors idle this long before the first silo's traffic resumes and it is killed (default 35 s:
    /// past their <c>SnapshotInterval</c>, 30 s, so that the snapshots of their own Spaces are written before the kill,
    /// as a cluster that has run a while spreads them, and not all at once at the kill).</summary>
    public TimeSpan WarmSettle { get; init; } = TimeSpan.FromSeconds(35);

    /// <summary>The first silo's snapshot settings: snapshots made rare so that the tail grows (every Space still writes
    /// one before its first append). The new silo runs with the engine's options.</summary>
    public IReadOnlyDictionary<string, string> FirstSiloEnvironment { get; init; } = new Dictionary<string, string>
    {
        ["Quota__Journal__SnapshotEveryEvents"] = "1000000000",
        ["Quota__Journal__SnapshotInterval"] = "1.00:00:00",
        ["Quota__Journal__RetentionSweepInterval"] = "1.00:00:00",

        // Setup on Azurite (a Table read and write per Space and user) is slow; as the load test's README does.
        ["Quota__Storage__OperationTimeout"] = "00:00:30",
    };

    public long TailBytes => (long)(TailMiB * 1024 * 1024);

    public static RecoveryOptions Preset(string name) => name.ToLowerInvariant() switch
    {
        "large" => new RecoveryOptions { Scenario = "large", Spaces = 10_000, TailMiB = 50 },
        "audit" => new RecoveryOptions { Scenario = "audit", Spaces = 70, TailMiB = 4 },
        "cluster" => new RecoveryOptions { Scenario = "cluster", Spaces = 10_000, TailMiB = 50, Silos = 3 },
        _ => throw new FormatException($"Unknown recovery scenario '{name}'; use large (10,000 Spaces, 50 MiB tail), audit (70 Spaces, 4 MiB) or cluster (3 silos, 10,000 Spaces, 50 MiB)."),
    };

    public IEnumerable<string> Validate()
    {
        if (Spaces is < 1 or > 1_000_000)
        {
            yield return "--spaces must be between 1 and 1,000,000.";
        }

        if (Silos is < 1 or > 5)
        {
            yield return "--silos must be between 1 and 5.";
        }

        if (TailMiB is <= 0 or > 4_000)
        {
            yield return "--tail-mb must be above 0 and at most 4,000.";
        }

        if (WarmSurvivors is < 0 or > 100_000 || WarmUp <= TimeSpan.Zero || WarmSettle < TimeSpan.Zero)
        {
            yield return "--warm-survivors must be between 0 and 100,000, --warm-up positive and --warm-settle not negative.";
        }

        if (Concurrency is < 1 or > 100_000)
        {
            yield return "--concurrency must be between 1 and 100,000.";
        }

        if (Timeout <= TimeSpan.Zero || ReadyTimeout <= TimeSpan.Zero || MaxTraffic <= TimeSpan.Zero)
        {
            yield return "--timeout, --ready-timeout and --max-traffic must be positive.";
        }

        if (RetryDelay < TimeSpan.Zero)
        {
            yield return "--retry-delay must not be negative.";
        }

        if (AzuriteMaxOpenFiles is < 64)
        {
            yield return "--azurite-nofile must be at least 64.";
        }

        if (SetupParallelism is < 1 or > 1_024)
        {
            yield return "--setup-parallelism must be between 1 and 1,024.";
        }
    }
}
