using System.Net;

namespace QuotaGrains.LoadTest.Options;

/// <summary>What the load is sent to.</summary>
public enum TargetKind
{
    /// <summary>A silo and its client in this process (client → user grain → Space grain).</summary>
    Engine,

    /// <summary>An engine cluster that is already running; an Orleans client connects to its gateways.</summary>
    Cluster,

    /// <summary>The same semantics as Lua scripts on a redis-server on loopback.</summary>
    Redis,

    /// <summary>The raw baseline: one Azure Table upsert per operation against an Azurite the harness starts
    /// (the ceiling of any one-write-per-operation design). No quota semantics, no audit.</summary>
    Table,
}

/// <summary>The engine's storage in the in-process target (the silo's <c>Quota:Storage:Kind</c>).</summary>
public enum StorageKind
{
    /// <summary>The embedded in-memory storage.</summary>
    Memory,

    /// <summary>Durable storage on Azure Storage: the journal on append blobs, snapshots and ledger in tables, on an
    /// Azurite the harness starts on loopback.</summary>
    Azure,
}

/// <summary>The row key of the raw Table baseline's one entity per Space.</summary>
public enum RawRowKeyKind
{
    /// <summary>"state" in every Space's partition, as Orleans' Azure grain storage keys a grain's state (row key =
    /// state name): Azurite finds an entity by row key first, so each write scans every entity with that row key.</summary>
    State,

    /// <summary>The Space id (= the partition key): a unique row key, Azurite's fast path.</summary>
    Space,
}

/// <summary>How the Redis target's server persists writes.</summary>
public enum RedisPersistence
{
    /// <summary><c>--save '' --appendonly no</c>: nothing reaches the disk.</summary>
    None,

    /// <summary><c>--appendonly yes --appendfsync everysec</c>: fsync once a second (up to 1 s of acknowledged writes lost on a crash).</summary>
    EverySec,

    /// <summary><c>--appendonly yes --appendfsync always</c>: every acknowledged write is on disk.</summary>
    Always,
}

public sealed record EngineTargetOptions
{
    public StorageKind Storage { get; init; } = StorageKind.Memory;

    /// <summary>The silo port; 0 picks a free loopback port (never the default 11111, so a running silo is left alone).</summary>
    public int SiloPort { get; init; }

    /// <summary>The gateway port; 0 picks a free loopback port (never the default 30000).</summary>
    public int GatewayPort { get; init; }

    /// <summary>With azure storage: after setup, write every Space's snapshot before the warm-up, rather than let the
    /// snapshots that setup made due land one SnapshotInterval later in the measured window (see
    /// <c>EngineTarget.SettleAsync</c>).</summary>
    public bool Settle { get; init; } = true;

    /// <summary>Spaces created at once during setup; 0 = 64, or 16 with azure storage.</summary>
    public int SetupParallelism { get; init; }

    /// <summary>An experiment, not the engine as shipped: give the memory grain storage (Space snapshots) Orleans'
    /// binary serializer instead of the silo's default JSON one (suggestion 1 of RESULTS.md).</summary>
    public bool BinaryMemorySnapshots { get; init; }

    public IEnumerable<string> Validate()
    {
        if (Storage == StorageKind.Azure && BinaryMemorySnapshots)
        {
            yield return "--binary-memory-snapshots applies to --storage memory only.";
        }

        if (SetupParallelism is < 0 or > 1_024)
        {
            yield return "--setup-parallelism must be between 0 (automatic) and 1024.";
        }

        if (SiloPort is < 0 or > 65_535 || GatewayPort is < 0 or > 65_535)
        {
            yield return "--silo-port and --gateway-port must be between 0 and 65535.";
        }
    }
}

public sealed record ClusterTargetOptions
{
    /// <summary>Gateway endpoints (host:port) of the running cluster; loopback only.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = ["127.0.0.1:30000"];

    /// <summary>The cluster id the silos run with (QuotaGrains.Silo's default, <c>Quota:Silo:ClusterId</c>, is "local").</summary>
    public string ClusterId { get; init; } = "local";

    /// <summary>The service id the silos run with (QuotaGrains.Silo's default, <c>Quota:Silo:ServiceId</c>, is "quotagrains").</summary>
    public string ServiceId { get; init; } = "quotagrains";

    /// <summary>0: connect to a cluster already running at <see cref="Gateways"/>. N: the harness starts an Azurite and N
    /// silo processes (<c>src/QuotaGrains.Silo</c>, Release) with Azure Table membership on free loopback ports, connects
    /// to all their gateways, and stops them (SIGTERM) after the run.</summary>
    public int Silos { get; init; }

    /// <summary>With <see cref="Silos"/>: the silos' <c>Quota:Storage:Kind</c>. Memory keeps each silo's journal in its
    /// process (the membership table is on Azurite all the same); azure puts journal, snapshots and ledger on it.</summary>
    public StorageKind Storage { get; init; } = StorageKind.Memory;

    /// <summary>With <see cref="Silos"/>: build the silo (Release) before the first start.</summary>
    public bool BuildSilo { get; init; } = true;

    /// <summary>With <see cref="Silos"/>: how long a silo process may take to print "Ready.".</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(120);

    public IEnumerable<string> Validate()
    {
        if (Silos is < 0 or > 16)
        {
            yield return "--silos must be between 0 (a running cluster at --gateway) and 16.";
        }

        if (Silos > 0)
        {
            yield break;
        }

        if (Gateways.Count == 0)
        {
            yield return "The cluster target needs at least one gateway (--gateway 127.0.0.1:30000).";
        }

        foreach (var gateway in Gateways)
        {
            if (!Endpoints.TryParseLoopback(gateway, out _, out var problem))
            {
                yield return $"--gateway '{gateway}': {problem}";
            }
        }
    }
}

public sealed record RedisTargetOptions
{
    /// <summary>A redis-server already running (host:port, loopback only). When empty, the harness starts its own
    /// redis-server on a free loopback port in a temporary directory and stops it afterwards.</summary>
    public string? Endpoint { get; init; }

    public RedisPersistence Persistence { get; init; } = RedisPersistence.None;

    /// <summary>The redis-server binary the harness starts.</summary>
    public string ServerPath { get; init; } = "redis-server";

    public IEnumerable<string> Validate()
    {
        if (Endpoint is { } endpoint && !Endpoints.TryParseLoopback(endpoint, out _, out var problem))
        {
            yield return $"--redis-endpoint '{endpoint}': {problem}";
        }
    }
}

/// <summary>The harness only sends traffic to this machine.</summary>
public static class Endpoints
{
    public static bool TryParseLoopback(string text, out IPEndPoint endpoint, out string problem)
    {
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out var port) || port is < 1 or > 65_535)
        {
            problem = "write host:port, e.g. 127.0.0.1:30000.";
            return false;
        }

        var host = text[..colon].Trim('[', ']');
        IPAddress? address = host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed : null;
        if (address is null || !IPAddress.IsLoopback(address))
        {
            problem = "only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed: this harness never sends load to another machine.";
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        problem = "";
        return true;
    }
}
