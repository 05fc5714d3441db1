using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using QuotaGrains.LoadTest.Options;

namespace QuotaGrains.LoadTest;

/// <summary>The command line: options, scenario presets, and turning a parse result into option records.</summary>
public static class Cli
{
    // ---- Workload ------------------------------------------------------------------------------------------------
    public static readonly Option<string?> Scenario = new("--scenario")
    {
        Description = "Preset(s), comma-separated, run one after another: hot (1 Space, 64 members), uniform (10,000 Spaces), zipf (10,000 Spaces, Zipf 1.0). Options given explicitly override the preset.",
    };

    public static readonly Option<int> Spaces = new("--spaces") { Description = "Number of Spaces.", DefaultValueFactory = _ => 1_000 };

    public static readonly Option<int> Members = new("--members") { Description = "Members per Space, the Owner included.", DefaultValueFactory = _ => 4 };

    public static readonly Option<int> Users = new("--users") { Description = "Distinct users; 0 = Spaces × members (each user in one Space). Fewer users share Spaces.", DefaultValueFactory = _ => 0 };

    public static readonly Option<string> Skew = new("--skew") { Description = "How Spaces are picked: uniform or zipf.", DefaultValueFactory = _ => "uniform" };

    public static readonly Option<double> Zipf = new("--zipf") { Description = "The Zipf exponent s (with --skew zipf).", DefaultValueFactory = _ => 1.0 };

    public static readonly Option<int> Concurrency = new("--concurrency", "-c") { Description = "Operations in flight (closed-loop workers).", DefaultValueFactory = _ => 256 };

    public static readonly Option<TimeSpan> Duration = DurationOption(
        "--duration",
        "Measured time after the warm-up, e.g. 15s, 2m (at most 1h).",
        TimeSpan.FromSeconds(15), "-d");

    public static readonly Option<long> Ops = new("--ops") { Description = "Stop after this many measured operations (0 = only the duration bounds the run).", DefaultValueFactory = _ => 0 };

    public static readonly Option<TimeSpan> Warmup = DurationOption(
        "--warmup",
        "Load before measuring, not reported, e.g. 3s.",
        TimeSpan.FromSeconds(3));

    public static readonly Option<double> FailureRate = new("--failure-rate") { Description = "Fraction of items whose generation fails and is refunded.", DefaultValueFactory = _ => 0.05 };

    public static readonly Option<int> BatchSize = new("--batch-size") { Description = "Items per batch reserve (all or nothing); 1 = no batches.", DefaultValueFactory = _ => 1 };

    public static readonly Option<double> BatchFraction = new("--batch-fraction") { Description = "Fraction of flows that reserve a batch of --batch-size items.", DefaultValueFactory = _ => 1.0 };

    public static readonly Option<double> BalanceFraction = new("--balance-fraction") { Description = "Fraction of operations that are balance queries.", DefaultValueFactory = _ => 0.1 };

    public static readonly Option<double> ReplayFraction = new("--replay-fraction") { Description = "Fraction of accepted reserves (and their commits) sent again with the same operation id.", DefaultValueFactory = _ => 0.01 };

    public static readonly Option<string> PlanMix = new("--plan-mix")
    {
        Description = "Plans with weights, e.g. free:20,pro:50,max:20,ultra:10. The default, enterprise, keeps pools from running dry so the charging path is measured; a realistic mix exhausts pools and measures rejections too.",
        DefaultValueFactory = _ => "enterprise",
    };

    public static readonly Option<long> EnterpriseAllowance = new("--enterprise-allowance") { Description = "Credits per renewal of Enterprise Spaces.", DefaultValueFactory = _ => 1_000_000_000_000 };

    public static readonly Option<int> Seed = new("--seed") { Description = "Seed of every random choice (Spaces' plans, each worker's stream).", DefaultValueFactory = _ => 42 };

    public static readonly Option<long> MaxErrors = new("--max-errors") { Description = "Stop the run once this many requests failed with an error.", DefaultValueFactory = _ => 10_000 };

    // ---- Targets -------------------------------------------------------------------------------------------------
    public static readonly Option<string> Target = new("--target", "-t")
    {
        Description = "engine (in-process silo), cluster (a running engine), redis, or table (the raw baseline: one Azure Table upsert per operation on an Azurite the harness starts).",
        DefaultValueFactory = _ => "engine",
    };

    public static readonly Option<string> Storage = new("--storage")
    {
        Description = "Engine storage: memory, or azure (the harness starts an in-memory Azurite on free loopback ports and stops it after). compare takes a list, e.g. memory,azure.",
        DefaultValueFactory = _ => "memory",
    };

    public static readonly Option<bool> NoRawTable = new("--no-raw-table")
    {
        Description = "compare with azure storage: leave out the raw baseline (one Azure Table upsert per operation against the same Azurite).",
    };

    public static readonly Option<string> RawRowKey = new("--raw-row-key")
    {
        Description = "Row key of the raw Table baseline's entity: state (one fixed row key in every Space's partition, as Orleans' Azure grain storage keys grain state) or space (the Space id: a unique row key, Azurite's fast path since it looks entities up by row key first); compare takes a list, e.g. state,space.",
        DefaultValueFactory = _ => "state",
    };

    public static readonly Option<bool> BinarySnapshots = new("--binary-memory-snapshots")
    {
        Description = "Experiment: the in-process engine's memory grain storage uses Orleans' binary serializer instead of the default JSON (not the engine as shipped).",
    };

    public static readonly Option<int> SetupParallelism = new("--setup-parallelism") { Description = "Engine targets: Spaces created at once during setup; 0 = 64, or 16 with azure storage.", DefaultValueFactory = _ => 0 };

    public static readonly Option<bool> NoSettle = new("--no-settle")
    {
        Description = "Engine with azure storage: start the warm-up right after setup instead of first writing every Space's snapshot (creating the Spaces makes them due one SnapshotInterval later, i.e. in the measured window).",
    };

    public static readonly Option<int> SiloPort = new("--silo-port") { Description = "In-process silo port; 0 = a free loopback port.", DefaultValueFactory = _ => 0 };

    public static readonly Option<int> GatewayPort = new("--gateway-port") { Description = "In-process gateway port; 0 = a free loopback port.", DefaultValueFactory = _ => 0 };

    public static readonly Option<string[]> Gateway = new("--gateway") { Description = "Gateway of a running cluster (host:port, loopback only); repeatable. Default 127.0.0.1:30000.", AllowMultipleArgumentsPerToken = false };

    public static readonly Option<string?> ClusterId = new("--cluster-id") { Description = "The running cluster's ClusterId (default local, as QuotaGrains.Silo)." };

    public static readonly Option<string?> ServiceId = new("--service-id") { Description = "The running cluster's ServiceId (default quotagrains, as QuotaGrains.Silo)." };

    public static readonly Option<FileInfo?> Config = new("--config") { Description = "A JSON file whose Cluster section (Gateways, ClusterId, ServiceId) configures the cluster target; QUOTALOADTEST_Cluster__… environment variables too." };

    public static readonly Option<int> Silos = new("--silos")
    {
        Description = "run --target cluster: start an Azurite and this many silo processes (src/QuotaGrains.Silo, Release; Azure Table membership; --storage memory or azure) on free loopback ports, wait until all are Active, connect to all their gateways, stop them after (SIGTERM). 0 = connect to a running cluster at --gateway.",
        DefaultValueFactory = _ => 0,
    };

    public static readonly Option<string?> CompareTargets = new("--targets")
    {
        Description = "compare: the targets in order, comma-separated: engine (in-process silo + client, per --storage), clusterN (N silo processes the harness starts, client in its own process, per --storage; e.g. cluster1,cluster3), redis (per --redis-persistence). Default: engine, the raw Table loop with azure storage, redis.",
    };

    public static readonly Option<int> Rounds = new("--rounds")
    {
        Description = "compare: run the targets this many times per scenario, alternating (round r starts at the r-th target), and print each ratio's median over the rounds.",
        DefaultValueFactory = _ => 1,
    };

    public static readonly Option<string?> RedisEndpoint = new("--redis-endpoint") { Description = "A running redis-server (host:port, loopback only). Default: start one on a free port and stop it after." };

    public static readonly Option<string?> RedisPersistenceOption = new("--redis-persistence")
    {
        Description = "none (--save '' --appendonly no), everysec, or always (--appendonly yes --appendfsync always); compare takes a list. Defaults: run none, compare none,always.",
    };

    public static readonly Option<string> RedisServer = new("--redis-server") { Description = "The redis-server binary to start.", DefaultValueFactory = _ => "redis-server" };

    // ---- Output --------------------------------------------------------------------------------------------------
    public static readonly Option<string?> Out = new("--out", "-o") { Description = "Directory for the JSON and Markdown reports (default benchmarks/results in the repository, else ./loadtest-results)." };

    public static readonly Option<bool> NoLive = new("--no-live") { Description = "Plain progress lines instead of the live display (automatic when output is redirected)." };

    // ---- Recovery ------------------------------------------------------------------------------------------------
    public static readonly Option<string?> RecoveryScenario = new("--scenario")
    {
        Description = "Preset(s), comma-separated, run one after another: large (10,000 Spaces, 50 MiB tail; the default), audit (70 Spaces, 4 MiB) or cluster (3 silos, 10,000 Spaces, 50 MiB). --spaces, --tail-mb and --silos given explicitly override the preset.",
    };

    public static readonly Option<double> TailMb = new("--tail-mb") { Description = "Journal tail to build before the kill, in MiB (2^20 bytes) appended after every Space's snapshot.", DefaultValueFactory = _ => 50 };

    public static readonly Option<TimeSpan> RecoveryTimeout = DurationOption(
        "--timeout",
        "Each recovery phase (balance reads, then reserves) and the audit stop after this long; what is not served then is the result (\"did not converge\").",
        TimeSpan.FromSeconds(240));

    public static readonly Option<TimeSpan> RetryDelay = DurationOption(
        "--retry-delay",
        "Wait after a failed call before asking the same Space again.",
        TimeSpan.FromMilliseconds(100));

    public static readonly Option<TimeSpan> ReadyTimeout = DurationOption(
        "--ready-timeout",
        "How long a silo process may take to print \"Ready.\".",
        TimeSpan.FromSeconds(120));

    public static readonly Option<TimeSpan> MaxTraffic = DurationOption(
        "--max-traffic",
        "Kill the first silo after this much traffic even if the tail is shorter than --tail-mb (reported).",
        TimeSpan.FromMinutes(20));

    public static readonly Option<bool> NoProxy = new("--no-proxy")
    {
        Description = "Let the new silo (cluster: the survivors) talk to Azurite directly instead of through the counting proxies (then only Azurite's CPU and /proc I/O counters measure the storage traffic; a survivor's journal read comes from its reader's log).",
    };

    public static readonly Option<string?> AzuriteLocation = new("--azurite-location") { Description = "Azurite's data folder (default: a new temporary folder, deleted after the run)." };

    public static readonly Option<int?> AzuriteNoFile = new("--azurite-nofile") { Description = "Run Azurite under prlimit --nofile=N:N (its limit of open file descriptors; default: inherited, see ulimit -n). Azurite opens its extent file once per block it reads." };

    public static readonly Option<bool> AzuriteInMemory = new("--azurite-in-memory") { Description = "Azurite keeps its data in memory (--inMemoryPersistence) instead of a folder; it is not restarted, so the data still outlives the silo." };

    public static readonly Option<bool> KeepAzuriteData = new("--keep-azurite-data") { Description = "Keep Azurite's data folder after the run." };

    public static readonly Option<int?> RecoverySilos = new("--silos")
    {
        Description = "Silo processes in the recovery run (default: the preset's; cluster = 3): more than 1 sets the Spaces up on the first alone, starts the others before the kill, and measures how they recover its Spaces between them (Azure Table membership).",
    };

    public static readonly Option<bool> NoBuild = new("--no-build") { Description = "Do not build src/QuotaGrains.Silo (Release) first; use the assembly already built." };

    public static readonly Option<int> WarmSurvivors = new("--warm-survivors")
    {
        Description = "Cluster scenario: Spaces of the survivors' own, created once they joined and given reserve → commit traffic for --warm-up before the kill (0 = survivors that joined cold, the default). A survivor of a cluster that has run a while has its code paths warm; this measures that.",
    };

    public static readonly Option<TimeSpan> WarmUp = DurationOption(
        "--warm-up",
        "How long the survivors' own Spaces get traffic before the kill (with --warm-survivors).",
        TimeSpan.FromSeconds(20));

    public static readonly Option<TimeSpan> WarmSettle = DurationOption(
        "--warm-settle",
        "After the warm-up, the survivors idle this long before the first silo's traffic resumes and it is killed: past their SnapshotInterval (30 s), so that their own Spaces' snapshots are written before the kill, not at it.",
        TimeSpan.FromSeconds(35));

    public static readonly Option<bool> ReadyToRun = new("--ready-to-run")
    {
        Description = "Run the silos from a ReadyToRun publish of src/QuotaGrains.Silo (precompiled: a survivor that never ran the engine's code compiles far less of it while it recovers), in bin/Release/net10.0/ready-to-run.",
    };

    public static IEnumerable<Option> RecoveryOptionList =>
    [
        RecoveryScenario, Spaces, TailMb, Concurrency, RecoveryTimeout, RetryDelay, ReadyTimeout, MaxTraffic, SetupParallelism, EnterpriseAllowance, Seed,
        NoProxy, AzuriteLocation, AzuriteInMemory, AzuriteNoFile, KeepAzuriteData, NoBuild, ReadyToRun, WarmSurvivors, WarmUp, WarmSettle, Out, NoLive, RecoverySilos,
    ];

    /// <summary>The recovery runs: one per preset named (default large).</summary>
    public static IReadOnlyList<RecoveryOptions> RecoveryRuns(ParseResult parse)
    {
        var names = parse.GetValue(RecoveryScenario)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        var presets = names.Length == 0
            ? [parse.GetResult(Spaces) is { Implicit: false } || parse.GetResult(TailMb) is { Implicit: false } ? new RecoveryOptions { Scenario = "custom" } : RecoveryOptions.Preset("large")]
            : names.Select(RecoveryOptions.Preset).ToArray();
        T Pick<T>(Option<T> option, T presetValue) => parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option)! : presetValue;
        return presets.Select(preset => preset with
        {
            Spaces = Pick(Spaces, preset.Spaces),
            TailMiB = Pick(TailMb, preset.TailMiB),
            Concurrency = parse.GetValue(Concurrency),
            Timeout = parse.GetValue(RecoveryTimeout),
            RetryDelay = parse.GetValue(RetryDelay),
            ReadyTimeout = parse.GetValue(ReadyTimeout),
            MaxTraffic = parse.GetValue(MaxTraffic),
            SetupParallelism = parse.GetValue(SetupParallelism) is > 0 and var parallelism ? parallelism : preset.SetupParallelism,
            EnterpriseAllowance = parse.GetValue(EnterpriseAllowance),
            Seed = parse.GetValue(Seed),
            Proxy = !parse.GetValue(NoProxy),
            AzuriteLocation = parse.GetValue(AzuriteLocation),
            AzuriteMaxOpenFiles = parse.GetValue(AzuriteNoFile),
            AzuriteInMemory = parse.GetValue(AzuriteInMemory),
            KeepAzuriteData = parse.GetValue(KeepAzuriteData),
            BuildSilo = !parse.GetValue(NoBuild),
            ReadyToRun = parse.GetValue(ReadyToRun),
            WarmSurvivors = parse.GetValue(WarmSurvivors),
            WarmUp = parse.GetValue(WarmUp),
            WarmSettle = parse.GetValue(WarmSettle),
            Silos = parse.GetValue(RecoverySilos) ?? preset.Silos,
        }).ToList();
    }

    public static IEnumerable<Option> WorkloadOptions =>
    [
        Scenario, Spaces, Members, Users, Skew, Zipf, Concurrency, Duration, Ops, Warmup, FailureRate, BatchSize, BatchFraction,
        BalanceFraction, ReplayFraction, PlanMix, EnterpriseAllowance, Seed, MaxErrors,
    ];

    public static IEnumerable<Option> TargetOptions =>
    [
        Storage, NoRawTable, RawRowKey, BinarySnapshots, SetupParallelism, NoSettle, SiloPort, GatewayPort, Gateway, ClusterId, ServiceId, Config, RedisEndpoint, RedisPersistenceOption, RedisServer, Out, NoLive,
        ReadyTimeout, NoBuild,
    ];

    /// <summary>The workloads to run: one per scenario named, else one from the options alone.</summary>
    public static IReadOnlyList<WorkloadOptions> Workloads(ParseResult parse)
    {
        var names = parse.GetValue(Scenario)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (names.Length == 0)
        {
            return [Workload(parse, new WorkloadOptions())];
        }

        return names.Select(name => Workload(parse, Preset(name))).ToList();
    }

    public static WorkloadOptions Preset(string name) => name.ToLowerInvariant() switch
    {
        "hot" => new WorkloadOptions { Scenario = "hot", Spaces = 1, MembersPerSpace = 64, Skew = SkewKind.Uniform },
        "uniform" => new WorkloadOptions { Scenario = "uniform", Spaces = 10_000, MembersPerSpace = 4, Skew = SkewKind.Uniform },
        "zipf" => new WorkloadOptions { Scenario = "zipf", Spaces = 10_000, MembersPerSpace = 4, Skew = SkewKind.Zipf, ZipfExponent = 1.0 },
        _ => throw new FormatException($"Unknown scenario '{name}'; use hot, uniform or zipf."),
    };

    /// <summary>The raw baseline's row key(s): compare runs one raw loop per kind named.</summary>
    public static IReadOnlyList<RawRowKeyKind> RawRowKeys(ParseResult parse) =>
        parse.GetValue(RawRowKey)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kind => ParseEnum<RawRowKeyKind>(kind, "--raw-row-key")).Distinct().ToList();

    /// <summary>One engine configuration per storage named in <c>--storage</c> (a list for compare).</summary>
    public static IReadOnlyList<EngineTargetOptions> EngineOptions(ParseResult parse) =>
        parse.GetValue(Storage)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(kind => ParseEnum<StorageKind>(kind, "--storage"))
            .Distinct()
            .Select(kind => new EngineTargetOptions
            {
                Storage = kind,
                SiloPort = parse.GetValue(SiloPort),
                GatewayPort = parse.GetValue(GatewayPort),
                SetupParallelism = parse.GetValue(SetupParallelism),
                Settle = !parse.GetValue(NoSettle),
                BinaryMemorySnapshots = kind == StorageKind.Memory && parse.GetValue(BinarySnapshots),
            })
            .ToList();

    public static ClusterTargetOptions ClusterOptions(ParseResult parse)
    {
        var configuration = new ConfigurationBuilder();
        if (parse.GetValue(Config) is { } file)
        {
            configuration.AddJsonFile(file.FullName, optional: false);
        }

        configuration.AddEnvironmentVariables("QUOTALOADTEST_");
        var section = configuration.Build().GetSection("Cluster");
        var options = new ClusterTargetOptions();
        var gateways = section.GetSection("Gateways").Get<string[]>();
        options = options with
        {
            Gateways = parse.GetValue(Gateway) is { Length: > 0 } given ? given : gateways is { Length: > 0 } ? gateways : options.Gateways,
            ClusterId = parse.GetValue(ClusterId) ?? section["ClusterId"] ?? options.ClusterId,
            ServiceId = parse.GetValue(ServiceId) ?? section["ServiceId"] ?? options.ServiceId,
        };
        return options;
    }

    /// <summary>A cluster of <paramref name="silos"/> processes that the harness starts, with <paramref name="storage"/>.</summary>
    public static ClusterTargetOptions OwnedClusterOptions(ParseResult parse, int silos, StorageKind storage) => new()
    {
        Silos = silos,
        Storage = storage,
        BuildSilo = !parse.GetValue(NoBuild),
        ReadyTimeout = parse.GetValue(ReadyTimeout),
    };

    public static IReadOnlyList<RedisTargetOptions> RedisOptions(ParseResult parse, string defaultPersistence)
    {
        var text = parse.GetValue(RedisPersistenceOption) ?? defaultPersistence;
        return text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => new RedisTargetOptions
            {
                Endpoint = parse.GetValue(RedisEndpoint),
                Persistence = ParseEnum<RedisPersistence>(p, "--redis-persistence"),
                ServerPath = parse.GetValue(RedisServer)!,
            })
            .ToList();
    }

    public static string OutputDirectory(ParseResult parse)
    {
        if (parse.GetValue(Out) is { Length: > 0 } given)
        {
            return Path.GetFullPath(given);
        }

        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QuotaGrains.sln")))
            {
                return Path.Combine(dir.FullName, "benchmarks", "results");
            }
        }

        return Path.GetFullPath("loadtest-results");
    }

    public static T ParseEnum<T>(string text, string option)
        where T : struct, Enum =>
        Enum.TryParse<T>(text.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var value) && Enum.IsDefined(value)
            ? value
            : throw new FormatException($"{option}: '{text}' is not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");

    private static WorkloadOptions Workload(ParseResult parse, WorkloadOptions preset)
    {
        T Pick<T>(Option<T> option, T presetValue) => parse.GetResult(option) is { Implicit: false } ? parse.GetValue(option)! : presetValue;
        var skewGiven = parse.GetResult(Skew) is { Implicit: false };
        return preset with
        {
            Spaces = Pick(Spaces, preset.Spaces),
            MembersPerSpace = Pick(Members, preset.MembersPerSpace),
            Users = Pick(Users, preset.Users),
            Skew = skewGiven ? ParseEnum<SkewKind>(parse.GetValue(Skew)!, "--skew") : preset.Skew,
            ZipfExponent = Pick(Zipf, preset.ZipfExponent),
            Concurrency = parse.GetValue(Concurrency),
            Duration = parse.GetValue(Duration),
            Operations = parse.GetValue(Ops),
            Warmup = parse.GetValue(Warmup),
            FailureRate = parse.GetValue(FailureRate),
            BatchSize = parse.GetValue(BatchSize),
            BatchFraction = parse.GetValue(BatchFraction),
            BalanceFraction = parse.GetValue(BalanceFraction),
            ReplayFraction = parse.GetValue(ReplayFraction),
            PlanMix = Options.WorkloadOptions.ParsePlanMix(parse.GetValue(PlanMix)!),
            EnterpriseAllowance = parse.GetValue(EnterpriseAllowance),
            Seed = parse.GetValue(Seed),
            MaxErrors = parse.GetValue(MaxErrors),
        };
    }

    /// <summary>An option that takes a duration (see <see cref="ParseDuration"/>).</summary>
    private static Option<TimeSpan> DurationOption(string name, string description, TimeSpan defaultValue, params string[] aliases) =>
        new(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue, CustomParser = ParseDuration };

    /// <summary>15s, 500ms, 2m, 1h, a plain number of seconds, or a TimeSpan (00:00:15).</summary>
    private static TimeSpan ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : "";
        var inv = CultureInfo.InvariantCulture;
        static bool Number(string s, out double value) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value >= 0;
        if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) && Number(text[..^2], out var ms))
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        if (text.Length > 1 && Number(text[..^1], out var n))
        {
            switch (char.ToLowerInvariant(text[^1]))
            {
                case 's':
                    return TimeSpan.FromSeconds(n);
                case 'm':
                    return TimeSpan.FromMinutes(n);
                case 'h':
                    return TimeSpan.FromHours(n);
            }
        }

        if (Number(text, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        if (TimeSpan.TryParse(text, inv, out var span))
        {
            return span;
        }

        result.AddError($"'{text}' is not a duration; write e.g. 15s, 500ms, 2m or 00:00:15.");
        return TimeSpan.Zero;
    }
}
