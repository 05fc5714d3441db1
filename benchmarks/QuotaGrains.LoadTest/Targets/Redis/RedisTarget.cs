using System.Globalization;
using QuotaGrains.LoadTest.Options;
using QuotaGrains.LoadTest.Workload;
using StackExchange.Redis;

namespace QuotaGrains.LoadTest.Targets.Redis;

/// <summary>
/// The quota semantics on Redis: one Lua script per reserve and per settle (atomic, idempotent by operation id), a
/// plain HMGET per balance query, over one multiplexed StackExchange.Redis connection. The harness prices the
/// generation with the same price book as the engine and derives settle ids as the engine's client does
/// (<c>{hold}:c1</c>, <c>{hold}:r2</c>, …), so both see the same requests.
/// </summary>
public sealed class RedisTarget(RedisTargetOptions options) : IQuotaTarget
{
    private static readonly TimeSpan HoldTimeToLive = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    private RedisServerProcess? _server;
    private ConnectionMultiplexer? _connection;
    private IDatabase _db = null!;
    private IServer _admin = null!;
    private byte[] _reserveSha = [];
    private byte[] _settleSha = [];
    private double _cpuAtStart;
    private double _cpuDuring;
    private DateTimeOffset _markedAt;
    private TimeSpan _measured;
    private string _version = "?";

    public string Name => $"redis ({Describe(options.Persistence)})";

    public string Key => $"redis-{options.Persistence.ToString().ToLowerInvariant()}";

    public IReadOnlyList<ServerProcess> ServerProcesses => _server is null ? [] : [new ServerProcess("redis-server", _server.ProcessId)];

    public static string Describe(RedisPersistence persistence) => persistence switch
    {
        RedisPersistence.None => "no persistence",
        RedisPersistence.EverySec => "appendfsync everysec",
        _ => "appendfsync always",
    };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoint = options.Endpoint;
        if (endpoint is null)
        {
            _server = await RedisServerProcess.StartAsync(options.ServerPath, options.Persistence, cancellationToken);
            endpoint = _server.Endpoint;
        }

        var configuration = new ConfigurationOptions
        {
            EndPoints = { endpoint },
            AbortOnConnectFail = true,
            ConnectTimeout = 5_000,
            SyncTimeout = 10_000,
            AsyncTimeout = 10_000,
            ClientName = "quota-loadtest",
            AllowAdmin = true, // INFO (CPU, memory, persistence) for the report
        };
        _connection = await ConnectionMultiplexer.ConnectAsync(configuration);
        _db = _connection.GetDatabase();
        _admin = _connection.GetServer(_connection.GetEndPoints()[0]);
        _reserveSha = await _admin.ScriptLoadAsync(RedisScripts.Reserve);
        _settleSha = await _admin.ScriptLoadAsync(RedisScripts.Settle);
        var info = await Info("server");
        _version = info.GetValueOrDefault("redis_version", "?");
        if (options.Endpoint is not null)
        {
            // Someone else's server: say what it persists, since the run is labelled with the option given.
            var persistence = await Info("persistence");
            _version += $", aof_enabled={persistence.GetValueOrDefault("aof_enabled", "?")}";
        }
    }

    public async Task SetupAsync(WorkloadModel model, Action<int> progress, CancellationToken cancellationToken)
    {
        var next = DateTimeOffset.UtcNow.AddMonths(1).ToUnixTimeMilliseconds();
        const int Chunk = 500;
        for (var start = 0; start < model.Spaces.Length; start += Chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var pending = new List<Task>();
            foreach (var space in model.Spaces.AsSpan(start, Math.Min(Chunk, model.Spaces.Length - start)))
            {
                var key = SpaceKey(space);
                pending.Add(_db.HashSetAsync(key,
                [
                    new("allowance", space.Allowance), new("used", 0), new("held", 0), new("generations", 0), new("next", next), new("plan", space.Plan.ToString()),
                ]));
                pending.Add(_db.SetAddAsync(key + ":m", space.Members.Select(m => (RedisValue)model.UserIds[m]).ToArray()));
            }

            await Task.WhenAll(pending);
            progress(Math.Min(start + Chunk, model.Spaces.Length));
        }
    }

    public async Task<ReserveOutcome> ReserveAsync(SpaceModel space, string userId, SpecChoice spec, int count, string operationId)
    {
        var key = SpaceKey(space);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var reply = (RedisResult[])(await _db.ScriptEvaluateAsync(
            _reserveSha,
            [key, key + ":m", key + ":o:" + operationId, key + ":h:" + operationId, key + ":x"],
            [userId, string.Concat("v|", userId, "|", SpecFingerprint(spec), "|", count.ToString(CultureInfo.InvariantCulture)), count, spec.UnitCredits, now,
             (long)HoldTimeToLive.TotalMilliseconds, (long)Retention.TotalMilliseconds, operationId, spec.Spec.Feature]))!;
        var status = (string)reply[0]!;
        switch (status)
        {
            case "A":
            case "R":
                var parts = ((string)reply[1]!).Split(',');
                var items = int.Parse(parts[0], CultureInfo.InvariantCulture);
                var credits = long.Parse(parts[2], CultureInfo.InvariantCulture);
                return new ReserveOutcome(true, null, status == "R", operationId, items, credits, new RedisHold(space, userId, operationId));
            case "F":
                return new ReserveOutcome(true, null, false, null, count, 0, null);
            default:
                return ReserveOutcome.Rejected(Enum.Parse<RejectionCode>((string)reply[1]!));
        }
    }

    public async Task<SettleOutcome> SettleAsync(ReserveOutcome hold, bool commit, IReadOnlyList<int>? items)
    {
        var h = (RedisHold)hold.Handle!;
        var operationId = $"{h.HoldId}:{(commit ? 'c' : 'r')}{++h.SettleCalls}";
        var key = SpaceKey(h.Space);
        var list = items is null ? "" : string.Join(',', items);
        var reply = (RedisResult[])(await _db.ScriptEvaluateAsync(
            _settleSha,
            [key, key + ":o:" + operationId, key + ":h:" + h.HoldId, key + ":x", key + ":u"],
            [h.UserId, string.Concat(commit ? "c|" : "r|", h.UserId, "|", h.HoldId, "|", list), commit ? "1" : "0", list,
             DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), (long)Retention.TotalMilliseconds, h.HoldId]))!;
        var status = (string)reply[0]!;
        if (status is "A" or "R")
        {
            var parts = ((string)reply[1]!).Split(',');
            return new SettleOutcome(true, null, status == "R",
                long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture),
                int.Parse(parts[2], CultureInfo.InvariantCulture), int.Parse(parts[3], CultureInfo.InvariantCulture));
        }

        return new SettleOutcome(false, Enum.Parse<RejectionCode>((string)reply[1]!), false, 0, 0, 0, 0);
    }

    public async Task<long?> AvailableAsync(SpaceModel space)
    {
        var values = await _db.HashGetAsync(SpaceKey(space), ["allowance", "used", "held"]);
        if (values[0].IsNull)
        {
            return null;
        }

        return Math.Max(0, (long)values[0] - (long)values[1] - (long)values[2]);
    }

    public async Task<PoolView> ReadPoolAsync(SpaceModel space)
    {
        var key = SpaceKey(space);
        var values = await _db.HashGetAsync(key, ["allowance", "used", "held", "generations"]);
        if (values[0].IsNull)
        {
            return default;
        }

        var open = await _db.SortedSetLengthAsync(key + ":x");
        return new PoolView(true, (long)values[0], (long)values[1], (long)values[2], (int)open, (long)values[3]);
    }

    public async Task MarkAsync(bool measuring)
    {
        var cpu = await CpuSecondsAsync();
        if (measuring)
        {
            _cpuAtStart = cpu;
            _markedAt = DateTimeOffset.UtcNow;
        }
        else
        {
            _cpuDuring = cpu - _cpuAtStart;
            _measured = DateTimeOffset.UtcNow - _markedAt;
        }
    }

    public async Task<TargetDiagnostics> DiagnosticsAsync()
    {
        var memory = await Info("memory");
        var persistence = await Info("persistence");
        var stats = await Info("stats");
        var values = new Dictionary<string, string>
        {
            ["server"] = _server is null ? $"{options.Endpoint} (already running), redis {_version}" : $"started by the harness on {_server.Endpoint} (pid {_server.ProcessId}), redis {_version}",
            ["persistence"] = _server is null ? "as configured on that server" : RedisServerProcess.Arguments(options.Persistence),
            ["server CPU (% of one core, measured window)"] = _measured > TimeSpan.Zero ? (_cpuDuring / _measured.TotalSeconds * 100).ToString("0.0", CultureInfo.InvariantCulture) : "-",
            ["server used_memory"] = memory.GetValueOrDefault("used_memory_human", "?"),
            ["server peak RSS"] = memory.GetValueOrDefault("used_memory_rss_human", "?"),
            ["commands processed"] = stats.GetValueOrDefault("total_commands_processed", "?"),
            ["aof_enabled"] = persistence.GetValueOrDefault("aof_enabled", "?"),
        };
        if (persistence.GetValueOrDefault("aof_enabled") == "1")
        {
            values["aof_current_size"] = persistence.GetValueOrDefault("aof_current_size", "?");
            values["aof_delayed_fsync"] = persistence.GetValueOrDefault("aof_delayed_fsync", "?");
        }

        return new TargetDiagnostics(values);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.CloseAsync();
            _connection.Dispose();
            _connection = null;
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static string SpaceKey(SpaceModel space) => "q:{" + space.Id + "}";

    private static string SpecFingerprint(SpecChoice spec) =>
        $"{spec.Spec.Feature}|{(int)spec.Spec.Media}|{(int)spec.Spec.Resolution}";

    private async Task<double> CpuSecondsAsync()
    {
        var cpu = await Info("cpu");
        return double.Parse(cpu.GetValueOrDefault("used_cpu_user", "0"), CultureInfo.InvariantCulture)
            + double.Parse(cpu.GetValueOrDefault("used_cpu_sys", "0"), CultureInfo.InvariantCulture);
    }

    private async Task<Dictionary<string, string>> Info(string section)
    {
        var groups = await _admin.InfoAsync(section);
        return groups.SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
    }

    /// <summary>The hold as the harness holds it; settle ids are derived like the engine client's.</summary>
    private sealed class RedisHold(SpaceModel space, string userId, string holdId)
    {
        public SpaceModel Space { get; } = space;

        public string UserId { get; } = userId;

        public string HoldId { get; } = holdId;

        public int SettleCalls { get; set; }
    }
}
