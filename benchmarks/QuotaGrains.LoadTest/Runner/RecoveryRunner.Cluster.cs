using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QuotaGrains.LoadTest.Reporting;
using QuotaGrains.LoadTest.Targets;
using QuotaGrains.LoadTest.Targets.Azure;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>
/// The cluster scenario of the recovery benchmark (<c>--silos N</c>, N &gt; 1): the first silo alone on Azure Table
/// membership gets every Space (it is the only silo), traffic until the journal holds the tail; then the other silos
/// join (each with its own counting proxies, so that bytes are per survivor) while the traffic goes on; once every silo
/// is Active, <c>kill -9</c> of the first, and every Space is asked on the survivors at once (balance reads, then
/// reserves) while the membership table is polled for the moment the cluster declares the first silo dead.
/// </summary>
public sealed partial class RecoveryRunner
{
    private const string MembershipTable = "OrleansSiloInstances";
    private const double TargetRecoverySeconds = 10;
    private static readonly TimeSpan MembershipPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>The first silo's traffic waits while the survivors are warmed (<c>--warm-survivors</c>).</summary>
    private bool _trafficPaused;

    public async Task<ClusterRecoveryReport> RunClusterAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var runId = $"{startedAt:HHmmss}{Random.Shared.Next(0x1000, 0xFFFF):x4}";
        var stem = Path.Combine(outputDirectory, $"{startedAt:yyyyMMdd-HHmmss}-recovery-{options.Scenario}");
        var serviceId = $"recovery-{runId}";

        // A cluster id of its own: the membership table's partition, so that a reused Azurite folder holds no stale silos.
        var clusterId = $"recovery-{runId}";
        var loads = new List<string> { LoadAverage() };
        var (siloDll, azurite, location) = await PrepareAsync(runId, startedAt, serviceId, cancellationToken);
        var clustering = new Dictionary<string, string> { ["Quota__Silo__Clustering"] = "azure" };
        var firstEnvironment = options.FirstSiloEnvironment.Concat(clustering).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        SiloHostProcess? first = null;
        IHost? trafficClient = null;
        IHost? client = null;
        var survivors = new List<Survivor>();
        using var stopWatching = new CancellationTokenSource();
        MembershipWatch? watch = null;
        Task? watching = null;
        try
        {
            // ---- The first silo alone: setup and traffic --------------------------------------------------------------
            var journal = new JournalMeter(azurite.ConnectionString, serviceId);
            _phase = "first silo";
            first = SiloHostProcess.Start(siloDll, azurite.ConnectionString, serviceId, clusterId, firstEnvironment, stem + "-silo-a.log");
            await WaitReadyAsync(first, "first silo", cancellationToken);
            trafficClient = await ConnectAsync([first.GatewayPort], serviceId, clusterId, cancellationToken);
            var (setup, afterSetup) = await SetupAndMeasureAsync(trafficClient, journal, cancellationToken);
            watch = new MembershipWatch(azurite.ConnectionString, clusterId, $"127.0.0.1-{first.SiloPort}-");

            // ---- The survivors join while traffic goes on; then kill -9 --------------------------------------------------
            double joinSeconds = 0;
            async Task JoinAsync()
            {
                _phase = "survivors joining";
                var joining = Stopwatch.StartNew();
                for (var i = 1; i < options.Silos; i++)
                {
                    var name = ((char)('a' + i)).ToString();
                    // Without the proxies (--no-proxy) the survivors talk to Azurite as a silo talks to its storage, and
                    // the journal they read comes from their own reader's log.
                    var blob = options.Proxy ? HttpCountingProxy.Start("blob", azurite.BlobPort) : null;
                    var table = options.Proxy ? HttpCountingProxy.Start("table", azurite.TablePort) : null;
                    var connection = blob is not null && table is not null
                        ? Azurite.ConnectionStringFor(blob.Port, azurite.QueuePort, table.Port)
                        : azurite.ConnectionString;
                    var silo = SiloHostProcess.Start(siloDll, connection, serviceId, clusterId, clustering, $"{stem}-silo-{name}.log");
                    survivors.Add(new Survivor(name, silo, blob, table));
                }

                foreach (var survivor in survivors)
                {
                    await WaitReadyAsync(survivor.Silo, $"silo {survivor.Name}", cancellationToken);
                }

                await watch.WaitActiveAsync(options.Silos, options.ReadyTimeout, cancellationToken);
                client = await ConnectAsync(survivors.Select(s => s.Silo.GatewayPort).ToArray(), serviceId, clusterId, cancellationToken);
                joinSeconds = joining.Elapsed.TotalSeconds;
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"{options.Silos} silos Active in the membership table {joinSeconds:0.0} s after the survivors' processes started ({string.Join(", ", survivors.Select(s => $"{s.Name}: pid {s.Silo.ProcessId}"))}); traffic went on on silo a."));
                if (options.WarmSurvivors > 0)
                {
                    await WarmSurvivorsAsync(client.Services.GetRequiredService<IGrainFactory>(), runId, first.SiloPort, survivors, cancellationToken);
                }

                watching = watch.RunAsync(stopWatching.Token);
            }

            var killed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            ClusterUsage? usage = null;
            var trafficTask = TrafficAsync(trafficClient.Services.GetRequiredService<IGrainFactory>(), first, journal, afterSetup, cancellationToken, JoinAsync, at =>
            {
                // The window starts at the kill: what the survivors did before (their start, joining) is not counted.
                usage = new ClusterUsage(azurite, survivors, at);
                killed.TrySetResult(at);
            });
            if (await Task.WhenAny(trafficTask, killed.Task) == trafficTask || survivors.Count == 0)
            {
                await trafficTask;
                throw new InvalidOperationException("The first silo was not killed with the survivors up (it exited on its own, or traffic ended early).");
            }

            var killedAt = await killed.Task;
            loads.Add(LoadAverage());

            // ---- Recovery on the survivors ------------------------------------------------------------------------------
            using var stopSampling = new CancellationTokenSource();
            var timeline = new List<ClusterTimelineRow>();
            var sampling = SampleClusterAsync(usage!, watch, timeline, stopSampling.Token);
            var grains = client!.Services.GetRequiredService<IGrainFactory>();
            var balances = new SpaceBalance?[options.Spaces];
            var recoveryHolds = new long[options.Spaces];
            Dictionary<int, Dictionary<string, int>?> activations = [];
            var (balance, reserve) = await RecoveryPhasesAsync(grains, runId, killedAt, "the kill", 0, balances, recoveryHolds,
                async () => activations = await ActivationsAsync(grains), cancellationToken);

            // The window ends with the reserve phase: the audit's own traffic is not counted.
            var window = usage!.Stop();
            loads.Add(LoadAverage());
            await stopSampling.CancelAsync();
            await sampling;
            if (watch.DeadAt is null)
            {
                // Recovery cannot finish before the cluster declared the silo dead; a poll may still be on its way.
                await Task.WhenAny(watching ?? Task.CompletedTask, Task.Delay(TimeSpan.FromSeconds(30), CancellationToken.None));
            }

            await stopWatching.CancelAsync();
            var traffic = await trafficTask;
            await StopClientAsync(trafficClient);
            trafficClient = null;
            WriteAcknowledged(stem + "-acknowledged.json");

            var streamPrefix = $"{serviceId}/127.0.0.1-{first.SiloPort}-";
            var deadSegments = traffic.SegmentsAtKill.Where(s => s.Key.StartsWith(streamPrefix, StringComparison.Ordinal)).ToList();
            var deadBytes = deadSegments.Sum(s => s.Value);
            var deadAfterSetup = deadSegments.Sum(s => Math.Max(0, s.Value - afterSetup.GetValueOrDefault(s.Key)));
            var dead = new DeadSiloSummary(watch.DeadRowKey ?? streamPrefix, first.ProcessId, streamPrefix, deadSegments.Count, deadBytes, deadAfterSetup);
            var survivorReports = survivors.Select((s, i) => s.Report(window.Survivors[i], activations.GetValueOrDefault(s.Silo.SiloPort) ?? new Dictionary<string, int>(), deadBytes, deadAfterSetup))
                .ToList();
            var times = Times(killedAt, watch, _balanceRun?.FirstAnswerAt, balance, reserve);

            _phase = "auditing";
            var audit = await AuditAsync(grains, runId, balances, recoveryHolds, cancellationToken);
            var report = new ClusterRecoveryReport
            {
                Scenario = options.Scenario,
                RunId = runId,
                StartedAt = startedAt,
                Machine = machine,
                Settings = Settings(azurite, serviceId, firstEnvironment, siloDll),
                Silos = options.Silos,
                ClusterId = clusterId,
                Outcome = ClusterOutcome(times, survivorReports, deadAfterSetup),
                SetupSeconds = Math.Round(setup.Elapsed.TotalSeconds, 1),
                Traffic = traffic,
                JoinSeconds = Math.Round(joinSeconds, 1),
                DeadSilo = dead,
                Times = times,
                Balance = balance,
                Reserve = reserve,
                Survivors = survivorReports,
                Processes = window.Processes,
                Timeline = timeline,
                FirstSiloLog = first.Summary(),
                Audit = audit,
                LoadAverages = loads,
                Notes = _notes.ToList(),
            };
            return report;
        }
        finally
        {
            _phase = "stopping";
            await stopWatching.CancelAsync();
            if (watching is not null)
            {
                await watching;
            }

            foreach (var host in new[] { client, trafficClient })
            {
                if (host is not null)
                {
                    await StopClientAsync(host);
                }
            }

            if (first is not null)
            {
                await first.DisposeAsync();
            }

            foreach (var survivor in survivors)
            {
                await survivor.DisposeAsync();
            }

            await StopAzuriteAsync(azurite, location);
        }
    }

    /// <summary>Spaces of the survivors' own (placed by Orleans: its resource-optimized placement puts new activations on
    /// the less loaded silos, so mostly on the survivors while the first silo serves the traffic), then reserve → commit
    /// on them for <c>WarmUp</c>. Not part of the audit or the recovery phases: they warm the survivors' code paths, as a
    /// cluster that has run a while has them.</summary>
    private async Task WarmSurvivorsAsync(IGrainFactory grains, string runId, int firstSiloPort, List<Survivor> survivors, CancellationToken cancellationToken)
    {
        // The first silo's traffic waits meanwhile, so that its tail is the one asked for, warm survivors or not.
        _phase = "warming the survivors";
        Volatile.Write(ref _trafficPaused, true);
        var clock = Stopwatch.StartNew();
        var spaces = Enumerable.Range(0, options.WarmSurvivors).Select(i => (Space: $"{runId}-warm-s{i}", Owner: $"{runId}-warm-u{i}")).ToArray();
        var errors = 0L;
        var flows = 0L;
        await Parallel.ForEachAsync(
            spaces,
            new ParallelOptions { MaxDegreeOfParallelism = options.SetupParallelism, CancellationToken = cancellationToken },
            async (s, _) =>
            {
                try
                {
                    var request = new CreateSpaceRequest($"{s.Space}-create", s.Owner, PlanTier.Enterprise, BillingCadence.Monthly, null, options.EnterpriseAllowance);
                    await grains.GetGrain<ISpaceGrain>(s.Space).CreateAsync(request);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Interlocked.Increment(ref errors);
                }
            });
        var created = clock.Elapsed.TotalSeconds;
        var spec = RecoverySpec().Spec;
        var until = Stopwatch.GetTimestamp() + (long)(options.WarmUp.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, Math.Min(64, options.WarmSurvivors)).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            long sequence = 0;
            while (Stopwatch.GetTimestamp() < until && !cancellationToken.IsCancellationRequested)
            {
                var (space, owner) = spaces[random.Next(spaces.Length)];
                var operation = $"{space}-w{w}-{sequence++}";
                try
                {
                    var user = grains.GetGrain<IUserGrain>(owner);
                    var reserved = await user.ReserveAsync(space, new ReserveRequest(operation, spec, 1));
                    if (reserved.HoldId is { } hold)
                    {
                        await user.CommitAsync(space, new SettleRequest(CommitId(hold), hold));
                    }

                    Interlocked.Increment(ref flows);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(workers);

        // Their snapshots fall due SnapshotInterval after their first change: written now, not at the kill.
        await Task.Delay(options.WarmSettle, cancellationToken);
        var placed = await ActivationsAsync(grains);
        string On(int port) => (placed.GetValueOrDefault(port) ?? new Dictionary<string, int>()).Where(t => t.Key.Contains("SpaceGrain", StringComparison.Ordinal)).Sum(t => t.Value).ToString("N0", CultureInfo.InvariantCulture);
        var note = string.Create(CultureInfo.InvariantCulture,
            $"Survivors warmed: {spaces.Length:N0} Spaces of their own created in {created:0.0} s, then {flows:N0} reserve → commit flows on them in {options.WarmUp.TotalSeconds:0} s ({errors:N0} errors), then {options.WarmSettle.TotalSeconds:0} s idle; Space activations before the kill: a {On(firstSiloPort)}, {string.Join(", ", survivors.Select(s => $"{s.Name} {On(s.Silo.SiloPort)}"))}.");
        _notes.Enqueue(note);
        observer.Info(note);

        // As without warming: the kill comes with the first silo's traffic under way.
        _phase = "traffic";
        Volatile.Write(ref _trafficPaused, false);
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
    }

    private static ClusterTimes Times(long killedAt, MembershipWatch watch, long? firstAnswerAt, RecoveryPhaseReport balance, RecoveryPhaseReport reserve)
    {
        double? After(long? at) => at is { } t ? Math.Round(Seconds(killedAt, t), 2) : null;
        var detected = After(watch.DeadAt);
        var allServed = balance.AllServedSecondsAfterProcessStart;
        var recovery = detected is { } d && allServed is { } a ? Math.Round(a - d, 2) : (double?)null;
        var firstServed = After(firstAnswerAt);
        return new ClusterTimes(MembershipPollInterval.TotalMilliseconds, After(watch.FirstSuspectedAt), detected, firstServed, allServed, recovery,
            reserve.AllServedSecondsAfterProcessStart, TargetRecoverySeconds, recovery is { } r ? r < TargetRecoverySeconds : null);
    }

    private static string ClusterOutcome(ClusterTimes t, IReadOnlyList<SurvivorReport> survivors, long tail)
    {
        static string S(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "—";
        var reads = string.Join(", ", survivors.Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{s.Name}: {s.SpacesActive:N0} Spaces, {Mib(s.JournalBytesRead)} MiB read ({s.ReadOverTail:0.00}× the tail) and {Mib(s.JournalBytesFromPeers)} MiB from the other survivor")));
        return string.Create(CultureInfo.InvariantCulture,
            $"detection {S(t.DeclaredDeadSeconds)}, recovery {S(t.RecoverySeconds)} (target < {t.TargetRecoverySeconds:0} s: {(t.RecoveryWithinTarget is { } ok ? ok ? "met" : "missed" : "—")}), total {S(t.AllBalancesServedSeconds)}; reserves all served {S(t.AllReservesServedSeconds)} after the kill; dead stream tail {Mib(tail)} MiB; {reads}");
    }

    /// <summary>Activations per silo port and grain type, as the survivors count them.</summary>
    private async Task<Dictionary<int, Dictionary<string, int>?>> ActivationsAsync(IGrainFactory grains)
    {
        var bySilo = new Dictionary<int, Dictionary<string, int>?>();
        try
        {
            var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics().WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var row in statistics)
            {
                var types = bySilo.TryGetValue(row.SiloAddress.Endpoint.Port, out var seen) && seen is not null ? seen : bySilo[row.SiloAddress.Endpoint.Port] = new Dictionary<string, int>(StringComparer.Ordinal);
                var type = row.GrainType;
                types[type] = types.GetValueOrDefault(type) + row.ActivationCount;
            }
        }
        catch (Exception e) when (e is TimeoutException or OrleansException)
        {
            _notes.Enqueue($"Counting activations per silo failed: {Describe(e)}");
        }

        return bySilo;
    }

    private async Task SampleClusterAsync(ClusterUsage usage, MembershipWatch watch, List<ClusterTimelineRow> rows, CancellationToken cancellationToken)
    {
        var previous = usage.Take();
        var lastPrint = Stopwatch.GetTimestamp();
        while (await NextSampleAsync(cancellationToken))
        {
            var now = usage.Take();
            var seconds = Math.Max(now.At - previous.At, 1e-3);
            double Percent(double a, double b) => Math.Round((a - b) / seconds * 100, 0);
            var row = new ClusterTimelineRow(
                Math.Round(now.At, 1),
                _phase,
                watch.DeadAt is not null ? "Dead" : watch.FirstSuspectedAt is not null ? "suspected" : "Active",
                _balanceRun?.Served ?? 0,
                _reserveRun?.Served ?? 0,
                Interlocked.Read(ref _failures),
                now.JournalBytes,
                now.TableRequests,
                now.Silos.Select((cpu, i) => Percent(cpu, previous.Silos[i])).ToList(),
                Percent(now.Azurite, previous.Azurite),
                Percent(now.AzuriteMain, previous.AzuriteMain));
            rows.Add(row);
            previous = now;
            if (Stopwatch.GetElapsedTime(lastPrint) >= PrintInterval)
            {
                lastPrint = Stopwatch.GetTimestamp();
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"  {row.Phase,-14} {row.Seconds,6:0.0} s after the kill  silo a {row.DeadSiloStatus,-9}  balance {row.BalanceServed,7:N0}  reserve {row.ReserveServed,7:N0} of {options.Spaces:N0}  failed calls {row.Failures,7:N0}  journal read {string.Join(" / ", row.JournalBytesRead.Select(Mib))} MiB  table {string.Join(" / ", row.TableRequests.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} req  silos {string.Join(" / ", row.SiloCpuPercent.Select(p => p.ToString("0", CultureInfo.InvariantCulture)))}%  Azurite {row.AzuriteCpuPercent:0}% (main {row.AzuriteMainThreadCpuPercent:0}%)"));
            }
        }
    }

    private static string LoadAverage()
    {
        try
        {
            return $"{DateTimeOffset.UtcNow:HH:mm:ss} {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static ProxyDelta Delta(ProxyServiceSummary start, ProxyServiceSummary end)
    {
        var before = start.Kinds.ToDictionary(k => k.Kind, StringComparer.Ordinal);
        var kinds = end.Kinds
            .Select(k => before.TryGetValue(k.Kind, out var b)
                ? new ProxyKindDelta(k.Kind, k.Count - b.Count, k.RequestBodyBytes - b.RequestBodyBytes, k.ResponseBodyBytes - b.ResponseBodyBytes)
                : new ProxyKindDelta(k.Kind, k.Count, k.RequestBodyBytes, k.ResponseBodyBytes))
            .Where(k => k.Count > 0)
            .OrderByDescending(k => k.Count)
            .ToList();
        return new ProxyDelta(end.Requests - start.Requests, end.BytesToAzurite - start.BytesToAzurite, end.BytesFromAzurite - start.BytesFromAzurite,
            end.ResponseBodyBytes - start.ResponseBodyBytes, end.CutResponses - start.CutResponses, kinds);
    }

    /// <summary>The journal reader's line for one read of a stream (event 201), with the bytes it read.</summary>
    [GeneratedRegex(@"Journal reader: stream \S+ read for \d+ recovering Space\(s\): (?<bytes>\d+) bytes in \d+ storage requests and (?<peers>\d+) bytes in \d+ ranges from other silos.*; (?<served>\d+) bytes read from the store for other silos in all")]
    private static partial Regex ReaderLine();

    /// <summary>Body bytes of ranged blob reads (the journal; snapshots and the rest are Table).</summary>
    private static long JournalBytes(HttpCountingProxy blob) =>
        blob.Rows().Where(r => r.Kind.StartsWith("GET blob", StringComparison.Ordinal)).Sum(r => r.ResponseBodyBytes);

    /// <summary>A surviving silo, with its own counting proxies in front of Azurite's blob and table ports unless the
    /// run goes without them.</summary>
    private sealed class Survivor(string name, SiloHostProcess silo, HttpCountingProxy? blob, HttpCountingProxy? table) : IAsyncDisposable
    {
        private static readonly ProxyDelta NotCounted = new(0, 0, 0, 0, 0, []);
        private ProxyServiceSummary? _blobAtKill;
        private ProxyServiceSummary? _tableAtKill;

        public string Name { get; } = name;

        public SiloHostProcess Silo { get; } = silo;

        public HttpCountingProxy? BlobProxy { get; } = blob;

        public HttpCountingProxy? TableProxy { get; } = table;

        public long JournalBytesAtKill { get; private set; }

        public long TableRequestsAtKill { get; private set; }

        /// <summary>Journal bytes read so far: through the proxy, or 0 when nothing counts them as they pass.</summary>
        public long JournalBytesNow => BlobProxy is null ? 0 : JournalBytes(BlobProxy);

        public long TableRequestsNow => TableProxy?.Requests ?? 0;

        public void MarkKill()
        {
            _blobAtKill = Summarize(BlobProxy);
            _tableAtKill = Summarize(TableProxy);
            JournalBytesAtKill = JournalBytesNow;
            TableRequestsAtKill = TableRequestsNow;
        }

        public (ProxyDelta Blob, ProxyDelta Table) Since() => (
            _blobAtKill is null ? NotCounted : Delta(_blobAtKill, Summarize(BlobProxy)!),
            _tableAtKill is null ? NotCounted : Delta(_tableAtKill, Summarize(TableProxy)!));

        public SurvivorReport Report(SurvivorWindow window, IReadOnlyDictionary<string, int> activations, long streamBytes, long tailBytes)
        {
            var logged = ReaderLogBytes(Silo);
            var journal = BlobProxy is null
                ? logged.FromStore
                : window.Blob.Kinds.Where(k => k.Kind.StartsWith("GET blob", StringComparison.Ordinal)).Sum(k => k.ResponseBodyBytes);
            var membership = window.Table.Kinds.Where(k => k.Kind.Contains(MembershipTable, StringComparison.Ordinal)).ToList();
            var spaces = activations.Where(a => a.Key.Contains("SpaceGrain", StringComparison.Ordinal) && !a.Key.Contains("Maintenance", StringComparison.Ordinal)).Sum(a => a.Value);
            return new SurvivorReport(Name, Silo.ProcessId, Silo.SiloPort, Silo.GatewayPort, spaces, new SortedDictionary<string, int>(activations.ToDictionary(), StringComparer.Ordinal),
                journal, Ratio(journal, tailBytes), Ratio(journal, streamBytes), logged.FromPeers, window.Blob, window.Table, membership.Sum(k => k.Count),
                membership.Sum(k => k.RequestBodyBytes + k.ResponseBodyBytes), window.CpuSeconds, window.CpuPercent, Silo.ResidentMiB(), Silo.Summary());
        }

        public async ValueTask DisposeAsync()
        {
            await Silo.DisposeAsync();
            if (BlobProxy is not null)
            {
                await BlobProxy.DisposeAsync();
            }

            if (TableProxy is not null)
            {
                await TableProxy.DisposeAsync();
            }
        }

        private static double Ratio(long a, long b) => b <= 0 ? 0 : Math.Round((double)a / b, 3);

        /// <summary>The bytes the silo's journal reader says it read from the store (for itself, and first for the other
        /// survivor) and got from the other survivor (its "Journal reader: stream … read for …" lines; a survivor reads no
        /// journal before the kill).</summary>
        private static (long FromStore, long FromPeers) ReaderLogBytes(SiloHostProcess silo)
        {
            silo.FlushLog();
            using var stream = new FileStream(silo.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            long bytes = 0, peers = 0, served = 0;
            while (reader.ReadLine() is { } line)
            {
                if (ReaderLine().Match(line) is { Success: true } match)
                {
                    bytes += long.Parse(match.Groups["bytes"].ValueSpan, CultureInfo.InvariantCulture);
                    peers += long.Parse(match.Groups["peers"].ValueSpan, CultureInfo.InvariantCulture);
                    served = Math.Max(served, long.Parse(match.Groups["served"].ValueSpan, CultureInfo.InvariantCulture));
                }
            }

            return (bytes + served, peers);
        }
    }

    private sealed record SurvivorWindow(ProxyDelta Blob, ProxyDelta Table, double CpuSeconds, double CpuPercent);

    /// <summary>CPU of Azurite, each survivor and the harness, and the survivors' proxies, from the kill.</summary>
    private sealed class ClusterUsage
    {
        private readonly Azurite _azurite;
        private readonly IReadOnlyList<Survivor> _survivors;
        private readonly long _killedAt;
        private readonly ClusterSample _start;

        public ClusterUsage(Azurite azurite, IReadOnlyList<Survivor> survivors, long killedAt)
        {
            _azurite = azurite;
            _survivors = survivors;
            _killedAt = killedAt;
            foreach (var survivor in survivors)
            {
                survivor.MarkKill();
            }

            _start = Take();
        }

        public ClusterSample Take()
        {
            var azurite = _azurite.CpuSeconds();
            using var self = Process.GetCurrentProcess();
            return new ClusterSample(
                Seconds(_killedAt, Stopwatch.GetTimestamp()),
                azurite.Process,
                azurite.MainThread,
                self.TotalProcessorTime.TotalSeconds,
                _survivors.Select(s => s.Silo.CpuSeconds()).ToList(),
                _survivors.Select(s => s.JournalBytesNow - s.JournalBytesAtKill).ToList(),
                _survivors.Select(s => s.TableRequestsNow - s.TableRequestsAtKill).ToList());
        }

        public (ClusterProcessWindow Processes, IReadOnlyList<SurvivorWindow> Survivors) Stop()
        {
            var end = Take();
            var seconds = Math.Max(end.At - _start.At, 1e-3);
            double Percent(double used) => Math.Round(used / seconds * 100, 1);
            var processes = new ClusterProcessWindow(Math.Round(seconds, 1),
                Math.Round(end.Azurite - _start.Azurite, 1), Percent(end.Azurite - _start.Azurite),
                Math.Round(end.AzuriteMain - _start.AzuriteMain, 1), Percent(end.AzuriteMain - _start.AzuriteMain), _azurite.ResidentMiB(),
                Math.Round(end.Harness - _start.Harness, 1), Percent(end.Harness - _start.Harness));
            var survivors = _survivors.Select((s, i) =>
            {
                var (blob, table) = s.Since();
                var cpu = end.Silos[i] - _start.Silos[i];
                return new SurvivorWindow(blob, table, Math.Round(cpu, 1), Percent(cpu));
            }).ToList();
            return (processes, survivors);
        }
    }

    private sealed record ClusterSample(double At, double Azurite, double AzuriteMain, double Harness, IReadOnlyList<double> Silos, IReadOnlyList<long> JournalBytes,
        IReadOnlyList<long> TableRequests);

    /// <summary>
    /// Orleans' membership table (Azure Table <c>OrleansSiloInstances</c>, one partition per cluster id, a row per silo
    /// incarnation with its <c>Status</c> and the votes of the silos that suspect it), read straight from Azurite, not
    /// through a survivor's proxy: when the silo to watch was first suspected and when it was declared dead.
    /// </summary>
    private sealed class MembershipWatch(string connectionString, string clusterId, string watchedRowPrefix)
    {
        private readonly TableClient _table = new(connectionString, MembershipTable);
        private long _firstSuspectedAt;
        private long _deadAt;

        public long? FirstSuspectedAt => Interlocked.Read(ref _firstSuspectedAt) is > 0 and var at ? at : null;

        public long? DeadAt => Interlocked.Read(ref _deadAt) is > 0 and var at ? at : null;

        public string? DeadRowKey { get; private set; }

        /// <summary>Until <paramref name="silos"/> rows are Active, the watched one among them.</summary>
        public async Task WaitActiveAsync(int silos, TimeSpan timeout, CancellationToken cancellationToken)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            var active = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var rows = await RowsAsync(cancellationToken);
                active = rows.Count(r => r.Status == "Active");
                if (active >= silos && rows.Any(r => r.Status == "Active" && r.RowKey.StartsWith(watchedRowPrefix, StringComparison.Ordinal)))
                {
                    return;
                }

                await Task.Delay(MembershipPollInterval, cancellationToken);
            }

            throw new InvalidOperationException($"Only {active} of {silos} silos were Active in the membership table after {timeout.TotalSeconds:0} s.");
        }

        /// <summary>Polls until the watched silo is Dead (or cancelled).</summary>
        public async Task RunAsync(CancellationToken cancellationToken)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var at = Stopwatch.GetTimestamp();
                    var watched = (await RowsAsync(cancellationToken)).FirstOrDefault(r => r.RowKey.StartsWith(watchedRowPrefix, StringComparison.Ordinal));
                    if (watched is not null && !string.IsNullOrEmpty(watched.Suspecting))
                    {
                        Interlocked.CompareExchange(ref _firstSuspectedAt, at, 0);
                    }

                    if (watched?.Status == "Dead")
                    {
                        DeadRowKey = watched.RowKey;
                        Interlocked.CompareExchange(ref _firstSuspectedAt, at, 0);
                        Interlocked.CompareExchange(ref _deadAt, at, 0);
                        return;
                    }

                    await Task.Delay(MembershipPollInterval, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (RequestFailedException)
                {
                    // Azurite busy: the next poll tells.
                }
            }
        }

        private async Task<List<MembershipRow>> RowsAsync(CancellationToken cancellationToken)
        {
            var rows = new List<MembershipRow>();
            await foreach (var entity in _table.QueryAsync<TableEntity>(e => e.PartitionKey == clusterId, cancellationToken: cancellationToken))
            {
                if (entity.GetString("Status") is { } status)
                {
                    rows.Add(new MembershipRow(entity.RowKey, status, entity.GetString("SuspectingSilos")));
                }
            }

            return rows;
        }

        private sealed record MembershipRow(string RowKey, string Status, string? Suspecting);
    }
}
