using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using Azure.Data.Tables;
using HdrHistogram;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using QuotaGrains;
using QuotaGrains.Client;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Renewals;

// Eager renewals at scale: N Spaces whose renewal instants fall in the same minute, renewed by the renewal index
// (reminder-driven clock + index grains + grain timers) in an in-process silo on real time. Reports how late the
// renewals land, how long until all are renewed, memory, reminders and storage rows. See benchmarks/RESULTS.md.
var options = BenchOptions.Parse(args);
if (options is null)
{
    Console.WriteLine("""
        QuotaGrains.RenewalBench: N Spaces renewing in the same minute, renewed eagerly by the renewal index.
          --spaces N                 Spaces (default 100000)
          --distribution spread|one-second   renewal instants spread over the minute's 60 seconds, or all at :30 (default spread)
          --cadence monthly|weekly   (default monthly)
          --warm                     keep the Spaces active (default: snapshot and deactivate them all first, as Spaces
                                     idle for a month are)
          --prewarm-seconds S        Quota:Renewals:PrewarmLead (default 30; 0 = none)
          --lead-minutes M           the renewal minute starts M minutes after launch (default 3)
          --storage memory|azure     (default memory); azure needs --connection-string (e.g. Azurite's)
          --connection-string CS
          --owners K                 distinct owners (default 1000)
          --timeout-minutes T        give up after T minutes past the renewal minute (default 20)
        """);
    return 2;
}

var serviceId = $"renewal-bench-{DateTime.UtcNow:yyyyMMddHHmmss}";
using var meters = new RenewalMeters();
using var host = BuildHost(options, serviceId);
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();
var quota = host.Services.GetRequiredService<IQuotaClient>();
var management = grains.GetGrain<IManagementGrain>(0);
var process = Process.GetCurrentProcess();
var launched = DateTimeOffset.UtcNow;
var minute = RenewalSlot.MinuteOf(launched) + TimeSpan.FromMinutes(options.LeadMinutes);
var instants = Enumerable.Range(0, options.Spaces)
    .Select(i => options.OneSecond ? minute.AddSeconds(30) : minute.AddSeconds(i % 60)).ToArray();
Console.WriteLine($"{options.Spaces:N0} Spaces renewing in the minute {minute:O} ({(options.OneSecond ? "all at second 30" : "spread over its 60 seconds")}), " +
    $"{options.Cadence}, storage {options.Storage}, {(options.Warm ? "kept active" : "idle (deactivated)")}, prewarm {options.PrewarmSeconds} s; service {serviceId}.");

// 1. Create the Spaces: each subscribed one cycle before its renewal instant.
var setup = Stopwatch.StartNew();
await Parallel.ForEachAsync(Enumerable.Range(0, options.Spaces), new ParallelOptions { MaxDegreeOfParallelism = 128 }, async (i, _) =>
{
    var (cadence, anchor) = Subscription(options.Cadence, instants[i]);
    var created = await quota.CreateSpaceAsync(SpaceId(i), new CreateSpaceRequest($"create-{i}", $"owner-{i % options.Owners}", PlanTier.Pro, cadence, anchor));
    if (!created.Succeeded)
    {
        throw new InvalidOperationException($"create {i}: {created.Rejection}");
    }
});
Console.WriteLine($"created in {setup.Elapsed.TotalSeconds:0.0} s ({options.Spaces / setup.Elapsed.TotalSeconds:N0}/s)");

// 2. Idle Spaces: snapshot (so their journal position is the tail) and deactivate everything.
if (!options.Warm)
{
    var snap = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, options.Spaces), new ParallelOptions { MaxDegreeOfParallelism = 128 },
        async (i, _) => await grains.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(SpaceId(i)).SnapshotAsync());
    await management.ForceActivationCollection(TimeSpan.Zero);
    Console.WriteLine($"snapshotted and deactivated in {snap.Elapsed.TotalSeconds:0.0} s; activations left: {await management.GetTotalActivationCount():N0}");
}

var before = Memory.Settle(process);
Console.WriteLine($"before the minute: {before}");
if (DateTimeOffset.UtcNow > minute - TimeSpan.FromSeconds(5))
{
    Console.WriteLine($"setup overran the renewal minute; rerun with a larger --lead-minutes (now {options.LeadMinutes}).");
    await host.StopAsync();
    return 1;
}

// 3. Wait for every renewal, sampling memory.
var peak = new Memory.Peak();
using var sampling = new CancellationTokenSource();
var sampler = Task.Run(async () =>
{
    while (!sampling.IsCancellationRequested)
    {
        peak.Sample(process);
        await Task.Delay(100).ContinueWith(static _ => { }, TaskScheduler.Default);
    }
});
var deadline = minute + TimeSpan.FromMinutes(options.TimeoutMinutes);
// Done when the clock has the minute done: every index grain answered that each of its Spaces is renewed, durably.
var progressAt = DateTimeOffset.UtcNow;
var clockGrain = grains.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey);
DateTimeOffset? allRenewedAt = null;
while (DateTimeOffset.UtcNow < deadline)
{
    await Task.Delay(200);
    var status = await clockGrain.GetStatusAsync();
    if (status.DoneThrough > minute)
    {
        allRenewedAt = DateTimeOffset.UtcNow;
        break;
    }

    if (DateTimeOffset.UtcNow - progressAt >= TimeSpan.FromSeconds(15))
    {
        progressAt = DateTimeOffset.UtcNow;
        Console.WriteLine($"  {(progressAt - minute).TotalSeconds,6:0} s: {meters.Renewed:N0} renewed; {peak}");
    }
}

sampling.Cancel();
await sampler;
var lastDue = instants.Max();
var activeAtPeak = await management.GetTotalActivationCount();

Console.WriteLine();
Console.WriteLine($"index wakes: {string.Join(", ", meters.Wakes.OrderBy(w => w.Key).Select(w => $"{w.Key} {w.Value:N0}"))} (a Space registered within the dispatch horizon is also woken by its own timer: counted twice)");
Console.WriteLine(allRenewedAt is { } all
    ? $"all renewed {(all - minute).TotalSeconds:0.00} s after the minute started, {(all - lastDue).TotalSeconds:0.00} s after the last renewal instant (last lateness recorded at +{(meters.LastRenewalAt - minute).TotalSeconds:0.00} s)"
    : $"NOT all renewed by {deadline:O} ({meters.Renewed:N0} renewals recorded)");
Console.WriteLine($"lateness (renewal instant → renewal durable, as the index saw it), ms: {meters.LatenessText}");
Console.WriteLine($"memory peak during the minute: {peak}; activations after: {activeAtPeak:N0}");

// 4. Check a sample: renewed once, at its instant.
var sample = Enumerable.Range(0, Math.Min(options.Spaces, 1000)).Select(i => i * (options.Spaces / Math.Min(options.Spaces, 1000))).ToList();
var wrong = 0;
foreach (var i in sample)
{
    var space = grains.GetGrain<ISpaceGrain>(SpaceId(i));
    var balance = await space.GetBalanceAsync();
    var renewals = (await space.GetLedgerAsync(new LedgerQuery(PageSize: 100))).Entries.Count(e => e.Kind == "renewed");
    if (balance?.CycleStart != instants[i] || renewals != 1)
    {
        wrong++;
    }
}

Console.WriteLine($"sample of {sample.Count:N0}: {sample.Count - wrong:N0} renewed exactly once at their instant, {wrong} not");

// 5. Steady state after the minute, and what the index costs in reminders and storage.
await management.ForceActivationCollection(TimeSpan.Zero);
var after = Memory.Settle(process);
Console.WriteLine($"after (everything deactivated, GC): {after}");
var clock = await grains.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey).GetStatusAsync();
var index = host.Services.GetRequiredService<RenewalIndex>();
var serializer = host.Services.GetRequiredService<Serializer>();
var keys = Enumerable.Range(0, index.Shards).Select(s => RenewalIndex.KeyOf(RenewalSlot.Of(options.Cadence, instants[0]), s)).ToList();
var sizes = new List<(int Spaces, int Bytes)>();
foreach (var key in keys)
{
    var spaces = await grains.GetGrain<IRenewalSlotGrain>(key).GetSpacesAsync();
    var state = new RenewalSlotState { Spaces = spaces.ToDictionary(e => e.Key, e => (byte)e.Value) };
    sizes.Add((spaces.Count, serializer.SerializeToArray(state).Length));
}

var reminderRows = await CountRemindersAsync(host.Services, options, serviceId);
Console.WriteLine($"reminders: {reminderRows} (one for the clock); clock: {clock}");
Console.WriteLine($"index: {clock.IndexGrains} index grain(s) (= storage rows) + 1 clock row; this minute's slot: {sizes.Sum(s => s.Spaces):N0} Spaces in {index.Shards} grains, " +
    $"{sizes.Min(s => s.Spaces):N0}–{sizes.Max(s => s.Spaces):N0} each, {sizes.Max(s => s.Bytes) / 1024.0:N0} KiB largest state (Azure Table entity limit ~960 KiB)");
if (options.Storage == "azure")
{
    await ReportAzureRowsAsync(options.ConnectionString!, serviceId);
}

await host.StopAsync();
return allRenewedAt is not null && wrong == 0 ? 0 : 3;

static string SpaceId(int i) => $"bench-{i:D7}";

static (BillingCadence Cadence, DateTimeOffset Anchor) Subscription(BillingCadence cadence, DateTimeOffset instant)
{
    if (cadence == BillingCadence.Monthly)
    {
        var anchor = instant.AddMonths(-1);
        if (RenewalSchedule.NextAfter(anchor, BillingCadence.Monthly, DateTimeOffset.UtcNow) == instant)
        {
            return (BillingCadence.Monthly, anchor);
        }
    }

    return (BillingCadence.Weekly, instant.AddDays(-7));
}

static IHost BuildHost(BenchOptions options, string serviceId)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Quota:Storage:Kind"] = options.Storage,
        ["Quota:Storage:ConnectionString"] = options.ConnectionString,
        ["Quota:Renewals:PrewarmLead"] = TimeSpan.FromSeconds(options.PrewarmSeconds).ToString("c", CultureInfo.InvariantCulture),
    });
    builder.Configuration.AddEnvironmentVariables();
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
    var siloPort = LoopbackPorts.Next();
    var gatewayPort = LoopbackPorts.Next();
    builder.UseOrleans(silo => silo
        .UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: serviceId)
        .AddQuotaGrains());
    builder.Services.AddQuotaClient();
    return builder.Build();
}

static async Task<int> CountRemindersAsync(IServiceProvider services, BenchOptions options, string serviceId)
{
    if (options.Storage == "azure")
    {
        var table = new TableServiceClient(options.ConnectionString).GetTableClient("QuotaReminders");
        return table.Query<TableEntity>().Count(r => r.PartitionKey.StartsWith(serviceId, StringComparison.Ordinal));
    }

    var data = await services.GetRequiredService<IReminderTable>().ReadRows(0, uint.MaxValue);
    return data.Reminders.Count;
}

static Task ReportAzureRowsAsync(string connectionString, string serviceId)
{
    var tables = new TableServiceClient(connectionString);
    var state = tables.GetTableClient("QuotaState").Query<TableEntity>().Where(r => r.PartitionKey.StartsWith(serviceId, StringComparison.Ordinal)).ToList();
    var byKind = state.GroupBy(r => r.PartitionKey.Contains("renewalslot", StringComparison.OrdinalIgnoreCase) ? "renewal index"
        : r.PartitionKey.Contains("renewalclock", StringComparison.OrdinalIgnoreCase) ? "renewal clock"
        : r.PartitionKey.Contains("space", StringComparison.OrdinalIgnoreCase) ? "Space snapshots" : "other");
    Console.WriteLine($"Azure QuotaState rows: {string.Join(", ", byKind.Select(g => $"{g.Key} {g.Count():N0}"))}");
    return Task.CompletedTask;
}

internal sealed record BenchOptions(
    int Spaces, bool OneSecond, BillingCadence Cadence, bool Warm, int PrewarmSeconds, int LeadMinutes, string Storage,
    string? ConnectionString, int Owners, int TimeoutMinutes)
{
    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions(100_000, false, BillingCadence.Monthly, false, 30, 3, "memory", null, 1000, 20);
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--spaces": o = o with { Spaces = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--distribution": o = o with { OneSecond = Next() == "one-second" }; break;
                case "--cadence": o = o with { Cadence = Enum.Parse<BillingCadence>(Next(), ignoreCase: true) }; break;
                case "--warm": o = o with { Warm = true }; break;
                case "--prewarm-seconds": o = o with { PrewarmSeconds = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--lead-minutes": o = o with { LeadMinutes = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--storage": o = o with { Storage = Next() }; break;
                case "--connection-string": o = o with { ConnectionString = Next() }; break;
                case "--owners": o = o with { Owners = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--timeout-minutes": o = o with { TimeoutMinutes = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                default: return null;
            }
        }

        return o.Spaces > 0 && (o.Storage == "memory" || (o.Storage == "azure" && o.ConnectionString is not null)) ? o : null;
    }
}

/// <summary>The renewal index's meters, as the engine publishes them.</summary>
internal sealed class RenewalMeters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly LongHistogram _lateness = new(3_600_000_000, 3);
    private readonly Lock _lock = new();

    public RenewalMeters()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == QuotaInstruments.MeterName && instrument.Name is "quota.renewal.lateness" or "quota.renewal.wakes")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (_lock)
            {
                _lateness.RecordValue((long)Math.Round(value * 1000));
                Renewed++;
                LastRenewalAt = DateTimeOffset.UtcNow;
            }
        });
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var outcome = "?";
            foreach (var tag in tags)
            {
                if (tag.Key == "outcome")
                {
                    outcome = tag.Value?.ToString() ?? "?";
                }
            }

            lock (_lock)
            {
                Wakes[outcome] = Wakes.GetValueOrDefault(outcome) + value;
            }
        });
        _listener.Start();
    }

    public long Renewed { get; private set; }

    public DateTimeOffset LastRenewalAt { get; private set; }

    public Dictionary<string, long> Wakes { get; } = [];

    public string LatenessText
    {
        get
        {
            lock (_lock)
            {
                static string Ms(long micros) => (micros / 1000.0).ToString("0.0", CultureInfo.InvariantCulture);
                return _lateness.TotalCount == 0 ? "-" :
                    $"p50 {Ms(_lateness.GetValueAtPercentile(50))}, p90 {Ms(_lateness.GetValueAtPercentile(90))}, p99 {Ms(_lateness.GetValueAtPercentile(99))}, " +
                    $"p99.9 {Ms(_lateness.GetValueAtPercentile(99.9))}, max {Ms(_lateness.GetMaxValue())}";
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}

internal static class Memory
{
    public static string Settle(Process process)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        process.Refresh();
        return $"working set {process.WorkingSet64 / 1048576.0:N0} MiB, managed heap {GC.GetTotalMemory(false) / 1048576.0:N0} MiB";
    }

    public sealed class Peak
    {
        private long _workingSet;
        private long _heap;

        public void Sample(Process process)
        {
            process.Refresh();
            _workingSet = Math.Max(_workingSet, process.WorkingSet64);
            _heap = Math.Max(_heap, GC.GetGCMemoryInfo().HeapSizeBytes);
        }

        public override string ToString() => $"working set {_workingSet / 1048576.0:N0} MiB, GC heap {_heap / 1048576.0:N0} MiB";
    }
}
