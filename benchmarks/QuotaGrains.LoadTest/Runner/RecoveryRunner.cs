using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using QuotaGrains.Grains.Journal;
using QuotaGrains.LoadTest.Options;
using QuotaGrains.LoadTest.Reporting;
using QuotaGrains.LoadTest.Targets;
using QuotaGrains.LoadTest.Targets.Azure;
using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>
/// The recovery benchmark. Azurite with its data in a folder; the engine host (<c>QuotaGrains.Silo</c>) as a process
/// with snapshots made rare; N Spaces with one member each; reserve → commit traffic over all of them, uniform, until
/// the journal holds the tail asked for after the end of setup (every Space's snapshot, written before its first
/// append, lies at or before it); <c>kill -9</c> during traffic; then a new silo process with the engine's options on
/// the same data, and every Space asked at once: a balance read first, then one reserve through the user grain, each
/// retried until it answers or the phase's time is up. Storage traffic of the new silo goes through a counting proxy.
/// Ends with the audit: every acknowledged commit is there and nothing is charged twice.
/// </summary>
public sealed partial class RecoveryRunner(RecoveryOptions options, MachineInfo machine, IRunObserver observer, string outputDirectory)
{
    private const string ClusterId = "recovery";
    private static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PrintInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentQueue<string> _notes = new();
    private readonly ConcurrentDictionary<string, long> _trafficErrors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _failuresTotal = new(StringComparer.Ordinal);
    private WorkloadModel _model = null!;
    private SpaceLedger _ledger = null!;
    private long _flows;
    private long _commits;
    private long _anomalies;
    private long _failures;
    private volatile string _phase = "starting";
    private volatile PhaseRun? _balanceRun;
    private volatile PhaseRun? _reserveRun;

    public async Task<RecoveryReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var runId = $"{startedAt:HHmmss}{Random.Shared.Next(0x1000, 0xFFFF):x4}";
        var stem = Path.Combine(outputDirectory, $"{startedAt:yyyyMMdd-HHmmss}-recovery-{options.Scenario}");
        var serviceId = $"recovery-{runId}";
        var (siloDll, azurite, location) = await PrepareAsync(runId, startedAt, serviceId, cancellationToken);
        SiloHostProcess? first = null;
        SiloHostProcess? second = null;
        IHost? client = null;
        HttpCountingProxy? blobProxy = null;
        HttpCountingProxy? tableProxy = null;
        try
        {
            // ---- The first silo: setup, traffic, kill -9 --------------------------------------------------------------
            var journal = new JournalMeter(azurite.ConnectionString, serviceId);
            _phase = "first silo";
            first = SiloHostProcess.Start(siloDll, azurite.ConnectionString, serviceId, ClusterId, options.FirstSiloEnvironment, stem + "-silo1.log");
            await WaitReadyAsync(first, "first silo", cancellationToken);
            client = await ConnectAsync([first.GatewayPort], serviceId, ClusterId, cancellationToken);
            var (setup, afterSetup) = await SetupAndMeasureAsync(client, journal, cancellationToken);

            var traffic = await TrafficAsync(client.Services.GetRequiredService<IGrainFactory>(), first, journal, afterSetup, cancellationToken);
            await StopClientAsync(client);
            client = null;
            WriteAcknowledged(stem + "-acknowledged.json");

            // ---- The new silo: recovery ---------------------------------------------------------------------------
            string connection;
            if (options.Proxy)
            {
                blobProxy = HttpCountingProxy.Start("blob", azurite.BlobPort);
                tableProxy = HttpCountingProxy.Start("table", azurite.TablePort);
                connection = Azurite.ConnectionStringFor(blobProxy.Port, azurite.QueuePort, tableProxy.Port);
            }
            else
            {
                connection = azurite.ConnectionString;
            }

            var window = new UsageWindow(azurite);
            _phase = "new silo starting";
            second = SiloHostProcess.Start(siloDll, connection, serviceId, ClusterId, new Dictionary<string, string>(), stem + "-silo2.log");
            window.Start(second);
            using var stopSampling = new CancellationTokenSource();
            var timeline = new List<RecoveryTimelineRow>();
            var sampling = SampleAsync(second, window, blobProxy, tableProxy, timeline, stopSampling.Token);

            double? readySeconds = null;
            double? connectedSeconds = null;
            RecoveryPhaseReport? balance = null;
            RecoveryPhaseReport? reserve = null;
            long readyAt = 0;
            try
            {
                readyAt = await second.Ready.WaitAsync(options.ReadyTimeout, cancellationToken);
                readySeconds = Seconds(second.StartedAt, readyAt);
                client = await ConnectAsync([second.GatewayPort], serviceId, ClusterId, cancellationToken);
                connectedSeconds = Seconds(second.StartedAt, Stopwatch.GetTimestamp());
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"New silo (pid {second.ProcessId}) ready {readySeconds:0.00} s after its process started; client connected at {connectedSeconds:0.00} s."));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException or OrleansException)
            {
                _notes.Enqueue($"The new silo did not become usable: {e.GetType().Name}: {e.Message}");
                observer.Info($"The new silo did not become usable: {e.Message}\n{second.Tail()}");
            }

            var recoveryHolds = new long[options.Spaces];
            var balances = new SpaceBalance?[options.Spaces];
            if (client is not null)
            {
                (balance, reserve) = await RecoveryPhasesAsync(client.Services.GetRequiredService<IGrainFactory>(), runId, second.StartedAt, "the new silo's process started", readyAt,
                    balances, recoveryHolds, null, cancellationToken);
            }

            // The window ends with the reserve phase: the audit's own traffic is not counted.
            var processes = window.Stop(second);
            var io = window.Io;
            var storage = new StorageSummary(options.Proxy, Summarize(blobProxy), Summarize(tableProxy), io.ReadChars, io.WrittenChars, io.DiskRead, io.DiskWritten);
            await stopSampling.CancelAsync();
            await sampling;
            _phase = "auditing";
            var audit = client is null
                ? new RecoveryAuditReport("not run", "the new silo never served", 0, 0, 0, 0, options.Spaces, _ledger.Uncertain.Count, 0, 0, 0, 0, _ledger.Uncertain.Count,
                    TotalAcknowledged(), 0, 0, ["The new silo never became usable: nothing was audited."])
                : await AuditAsync(client.Services.GetRequiredService<IGrainFactory>(), runId, balances, recoveryHolds, cancellationToken);

            var report = new RecoveryReport
            {
                Scenario = options.Scenario,
                RunId = runId,
                StartedAt = startedAt,
                Machine = machine,
                Settings = Settings(azurite, serviceId, options.FirstSiloEnvironment, siloDll),
                Outcome = OutcomeText(balance, reserve, storage, processes),
                SetupSeconds = Math.Round(setup.Elapsed.TotalSeconds, 1),
                Traffic = traffic,
                ReadySeconds = Round(readySeconds),
                ClientConnectedSeconds = Round(connectedSeconds),
                Balance = balance,
                Reserve = reserve,
                Storage = storage,
                Processes = processes,
                Timeline = timeline,
                FirstSiloLog = first.Summary(),
                SecondSiloLog = second.Summary(),
                Audit = audit,
                Notes = _notes.ToList(),
            };
            return report;
        }
        finally
        {
            _phase = "stopping";
            if (client is not null)
            {
                await StopClientAsync(client);
            }

            foreach (var silo in new[] { first, second })
            {
                if (silo is not null)
                {
                    await silo.DisposeAsync();
                }
            }

            if (blobProxy is not null)
            {
                await blobProxy.DisposeAsync();
            }

            if (tableProxy is not null)
            {
                await tableProxy.DisposeAsync();
            }

            await StopAzuriteAsync(azurite, location);
        }
    }

    private async Task StopAzuriteAsync(Azurite azurite, string location)
    {
        await azurite.DisposeAsync();
        if (options.AzuriteLocation is null && !options.KeepAzuriteData)
        {
            TryDelete(location);
        }
        else
        {
            observer.Info($"Azurite's data is kept in {location}.");
        }
    }

    /// <summary>The workload model and ledger, the silo's build, and Azurite (data in a folder unless asked otherwise).</summary>
    private async Task<(string SiloDll, Azurite Azurite, string Location)> PrepareAsync(string runId, DateTimeOffset startedAt, string serviceId, CancellationToken cancellationToken)
    {
        _model = new WorkloadModel(new WorkloadOptions
        {
            Scenario = options.Scenario,
            Spaces = options.Spaces,
            MembersPerSpace = 1,
            PlanMix = [(PlanTier.Enterprise, 1)],
            EnterpriseAllowance = options.EnterpriseAllowance,
            Seed = options.Seed,
        }, runId, startedAt);
        _ledger = new SpaceLedger(options.Spaces);

        var siloDll = await SiloHostProcess.BuildAsync(options.BuildSilo, observer.Info, cancellationToken, options.ReadyToRun);
        var location = options.AzuriteLocation ?? Path.Combine(Path.GetTempPath(), $"quota-recovery-{runId}");
        var azurite = await Azurite.StartAsync(options.AzuriteInMemory ? null : location, options.AzuriteMaxOpenFiles, observer.Info, cancellationToken);
        observer.Info($"recovery · {options.Scenario}: {azurite.Describe}, at most {azurite.MaxOpenFiles()?.ToString("N0", CultureInfo.InvariantCulture) ?? "?"} open files; service id {serviceId}.");
        return (siloDll, azurite, location);
    }

    private async Task<(Stopwatch Setup, IReadOnlyDictionary<string, long> AfterSetup)> SetupAndMeasureAsync(IHost client, JournalMeter journal, CancellationToken cancellationToken)
    {
        var setup = Stopwatch.StartNew();
        await SetupAsync(client.Services.GetRequiredService<IGrainFactory>(), cancellationToken);
        setup.Stop();
        var afterSetup = await journal.SegmentsAsync(cancellationToken);
        observer.Info(string.Create(CultureInfo.InvariantCulture,
            $"{options.Spaces:N0} Spaces set up in {setup.Elapsed.TotalSeconds:0.0} s; the journal holds {Mib(afterSetup.Values.Sum())} MiB in {afterSetup.Count} segment(s)."));
        return (setup, afterSetup);
    }

    // ---- First silo ------------------------------------------------------------------------------------------------

    private async Task SetupAsync(IGrainFactory grains, CancellationToken cancellationToken)
    {
        _phase = "setup";
        var created = 0;
        using var progress = new CancellationTokenSource();
        var printing = PrintWhileAsync(() => $"setup: {Volatile.Read(ref created):N0} of {options.Spaces:N0} Spaces created", progress.Token);
        try
        {
            await Parallel.ForEachAsync(
                _model.Spaces,
                new ParallelOptions { MaxDegreeOfParallelism = options.SetupParallelism, CancellationToken = cancellationToken },
                async (space, ct) =>
                {
                    var owner = _model.UserIds[space.Members[0]];
                    var request = new CreateSpaceRequest($"{space.Id}-create", owner, space.Plan, BillingCadence.Monthly, null, space.CustomAllowance);
                    var result = await RetryAsync(() => grains.GetGrain<ISpaceGrain>(space.Id).CreateAsync(request), 20, ct);
                    if (!result.Succeeded)
                    {
                        throw new InvalidOperationException($"Setup failed: create {space.Id}: {result.Rejection}.");
                    }

                    Interlocked.Increment(ref created);
                });
        }
        finally
        {
            await progress.CancelAsync();
            await printing;
        }
    }

    /// <param name="beforeKill">Runs once the tail is reached, while the workers keep sending (the cluster scenario
    /// starts the survivors there).</param>
    /// <param name="killed">Told the timestamp of the kill as soon as the process is gone, while the workers still wind down.</param>
    private async Task<TrafficSummary> TrafficAsync(IGrainFactory grains, SiloHostProcess silo, JournalMeter journal, IReadOnlyDictionary<string, long> afterSetup,
        CancellationToken cancellationToken, Func<Task>? beforeKill = null, Action<long>? killed = null)
    {
        _phase = "traffic";
        var stop = false;
        var specs = _model.Specs.Where(s => !s.IsFree).ToArray();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, options.Concurrency).Select(index => Task.Run(async () =>
        {
            var random = new Random(unchecked((options.Seed * 1_000_003) + index));
            long sequence = 0;
            while (!Volatile.Read(ref stop))
            {
                if (Volatile.Read(ref _trafficPaused))
                {
                    await Task.Delay(20, CancellationToken.None);
                    continue;
                }

                var space = _model.Spaces[random.Next(_model.Spaces.Length)];
                var spec = specs[random.Next(specs.Length)];
                var user = _model.UserIds[space.Members[0]];
                var operationId = $"{_model.RunId}-{index}-{sequence++}";
                await FlowAsync(grains.GetGrain<IUserGrain>(user), space, user, spec, operationId);
            }
        }, CancellationToken.None)).ToArray();

        var tail = 0L;
        var total = 0L;
        IReadOnlyDictionary<string, long> segments = afterSetup;
        var reason = "";
        var lastPrint = Stopwatch.GetTimestamp();
        while (true)
        {
            await Task.Delay(SampleInterval, cancellationToken);
            try
            {
                segments = await journal.SegmentsAsync(cancellationToken);
                total = segments.Values.Sum();
                tail = Tail(afterSetup, segments);
            }
            catch (RequestFailedException e)
            {
                _notes.Enqueue($"Listing the journal failed during traffic: {e.Status} {e.ErrorCode}");
            }

            if (Stopwatch.GetElapsedTime(lastPrint) >= PrintInterval)
            {
                lastPrint = Stopwatch.GetTimestamp();
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"  traffic {clock.Elapsed.TotalSeconds,6:0.0} s  {Interlocked.Read(ref _flows),10:N0} flows  {Interlocked.Read(ref _commits),10:N0} commits acknowledged  tail {Mib(tail)} of {options.TailMiB:0.#} MiB  errors {_trafficErrors.Values.Sum():N0}"));
            }

            if (tail >= options.TailBytes)
            {
                reason = $"the tail reached {Mib(tail)} MiB";
                break;
            }

            if (clock.Elapsed >= options.MaxTraffic || silo.HasExited)
            {
                reason = silo.HasExited ? "the first silo exited on its own" : $"--max-traffic ({options.MaxTraffic.TotalMinutes:0.#} min) passed with a tail of {Mib(tail)} MiB";
                _notes.Enqueue($"Traffic ended before the tail asked for: {reason}.");
                break;
            }
        }

        if (beforeKill is not null && !silo.HasExited)
        {
            await beforeKill();
        }

        // kill -9 while the workers are sending: whatever is in flight has an unknown outcome.
        observer.Info($"kill -9 the first silo (pid {silo.ProcessId}): {reason}, {Interlocked.Read(ref _flows):N0} flows.");
        var killedAt = Stopwatch.GetTimestamp();
        await silo.KillAsync();
        killed?.Invoke(killedAt);
        Volatile.Write(ref stop, true);
        clock.Stop();
        var allWorkers = Task.WhenAll(workers);
        if (await Task.WhenAny(allWorkers, Task.Delay(TimeSpan.FromSeconds(60), CancellationToken.None)) != allWorkers)
        {
            _notes.Enqueue("Some traffic workers were still waiting 60 s after the kill.");
        }

        try
        {
            segments = await journal.SegmentsAsync(cancellationToken);
            total = segments.Values.Sum();
            tail = Tail(afterSetup, segments);
        }
        catch (RequestFailedException e)
        {
            _notes.Enqueue($"Listing the journal after the kill failed: {e.Status} {e.ErrorCode}");
        }

        var acknowledgedSpaces = _model.Spaces.Count(s => _ledger.CommittedCredits(s.Index) > 0);
        var flows = Interlocked.Read(ref _flows);
        return new TrafficSummary(Math.Round(clock.Elapsed.TotalSeconds, 1), flows, Math.Round(flows / Math.Max(clock.Elapsed.TotalSeconds, 1e-3), 0),
            Interlocked.Read(ref _commits), TotalAcknowledged(), acknowledgedSpaces, _ledger.Uncertain.Count,
            new SortedDictionary<string, long>(_trafficErrors, StringComparer.Ordinal), Interlocked.Read(ref _anomalies),
            afterSetup.Values.Sum(), total, tail, tail >= options.TailBytes, segments, reason);
    }

    /// <summary>Reserve then commit one item through the user grain. A call that fails leaves the flow's outcome unknown:
    /// the audit resolves it after recovery.</summary>
    private async Task FlowAsync(IUserGrain user, SpaceModel space, string userId, SpecChoice spec, string operationId)
    {
        try
        {
            var reserved = await user.ReserveAsync(space.Id, new ReserveRequest(operationId, spec.Spec, 1));
            if (!reserved.Succeeded || reserved.HoldId is null)
            {
                Note(Interlocked.Increment(ref _anomalies), $"reserve {operationId} in {space.Id}: {reserved.Rejection?.Code.ToString() ?? "no hold"}");
                return;
            }

            var committed = await user.CommitAsync(space.Id, new SettleRequest(CommitId(reserved.HoldId), reserved.HoldId));
            if (!committed.Succeeded)
            {
                Note(Interlocked.Increment(ref _anomalies), $"commit {operationId} in {space.Id}: {committed.Rejection?.Code}");
                return;
            }

            _ledger.Committed(space.Index, committed.CommittedCredits, committed.ItemsSettled);
            Interlocked.Increment(ref _commits);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            _trafficErrors.AddOrUpdate(Describe(exception), 1, static (_, n) => n + 1);
            _ledger.MarkUncertain(new UncertainFlow(space, userId, spec, 1, operationId));
        }
        finally
        {
            Interlocked.Increment(ref _flows);
        }
    }

    // ---- Recovery ----------------------------------------------------------------------------------------------

    /// <summary>Every Space of <paramref name="order"/> asked once, <c>Concurrency</c> at once; a failed call is retried
    /// (same Space, after <c>RetryDelay</c>) until it answers or the phase's time is up.</summary>
    private async Task<RecoveryPhaseReport> RunPhaseAsync(string name, SpaceModel[] order, long origin, string originText, long readyAt, Action<PhaseRun> publish,
        Func<SpaceModel, Task<string?>> ask, CancellationToken cancellationToken)
    {
        var run = new PhaseRun(order.Length);
        publish(run);
        var phaseStart = Stopwatch.GetTimestamp();
        var deadline = phaseStart + (long)(options.Timeout.TotalSeconds * Stopwatch.Frequency);
        var next = -1;
        var workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(async () =>
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                if (i >= order.Length)
                {
                    return;
                }

                var space = order[i];
                var asked = Stopwatch.GetTimestamp();
                var attempts = 0;
                while (true)
                {
                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0)
                    {
                        run.Attempts[space.Index] = attempts;
                        return;
                    }

                    attempts++;
                    Interlocked.Increment(ref run.Calls);
                    try
                    {
                        var rejection = await ask(space).WaitAsync(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency), cancellationToken);
                        var now = Stopwatch.GetTimestamp();
                        if (rejection is not null)
                        {
                            run.Rejections.AddOrUpdate(rejection, 1, static (_, n) => n + 1);
                        }

                        run.Answered(space.Index, now - asked, now - phaseStart, now, attempts);
                        break;
                    }
                    catch (TimeoutException) when (deadline - Stopwatch.GetTimestamp() < Stopwatch.Frequency / 100)
                    {
                        run.Attempts[space.Index] = attempts;
                        return;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception exception) when (exception is not OutOfMemoryException)
                    {
                        var key = Describe(exception);
                        run.Failures.AddOrUpdate(key, 1, static (_, n) => n + 1);
                        _failuresTotal.AddOrUpdate($"{name}: {key}", 1, static (_, n) => n + 1);
                        Interlocked.Increment(ref _failures);
                        run.Samples.TryAdd(key, Shorten(exception.ToString().ReplaceLineEndings(" | "), 700));
                        if (options.RetryDelay > TimeSpan.Zero)
                        {
                            await Task.Delay(options.RetryDelay, CancellationToken.None);
                        }
                    }
                }
            }
        }, CancellationToken.None)).ToArray();
        await Task.WhenAll(workers);
        var ended = Stopwatch.GetTimestamp();
        var converged = run.Served == order.Length;
        observer.Info(converged
            ? string.Create(CultureInfo.InvariantCulture, $"{name}: all {order.Length:N0} Spaces answered {Seconds(origin, run.LastAnswerAt):0.0} s after {originText} ({Seconds(phaseStart, run.LastAnswerAt):0.0} s after the phase started); {run.Failures.Values.Sum():N0} failed calls.")
            : string.Create(CultureInfo.InvariantCulture, $"{name}: did not converge: {run.Served:N0} of {order.Length:N0} Spaces served after {Seconds(phaseStart, ended):0} s; {run.Failures.Values.Sum():N0} failed calls."));
        return new RecoveryPhaseReport(
            name,
            order.Length,
            run.Served,
            converged,
            Math.Round(Seconds(origin, phaseStart), 2),
            converged ? Math.Round(Seconds(origin, run.LastAnswerAt), 2) : null,
            converged && readyAt > 0 ? Math.Round(Seconds(readyAt, run.LastAnswerAt), 2) : null,
            converged ? Math.Round(Seconds(phaseStart, run.LastAnswerAt), 2) : null,
            Math.Round(Seconds(origin, ended), 2),
            Summary(run.FirstAnswer),
            Summary(run.SincePhaseStart),
            Interlocked.Read(ref run.Calls),
            run.Attempts.Count(a => a > 1),
            run.Attempts.DefaultIfEmpty(0).Max(),
            new SortedDictionary<string, long>(run.Failures, StringComparer.Ordinal),
            new SortedDictionary<string, string>(run.Samples, StringComparer.Ordinal),
            new SortedDictionary<string, long>(run.Rejections, StringComparer.Ordinal));
    }

    private async Task SampleAsync(SiloHostProcess silo, UsageWindow window, HttpCountingProxy? blob, HttpCountingProxy? table, List<RecoveryTimelineRow> rows,
        CancellationToken cancellationToken)
    {
        var previous = window.Take(silo);
        var lastPrint = Stopwatch.GetTimestamp();
        while (await NextSampleAsync(cancellationToken))
        {
            var now = window.Take(silo);
            var seconds = Math.Max(now.At - previous.At, 1e-3);
            var row = new RecoveryTimelineRow(
                Math.Round(Seconds(silo.StartedAt, Stopwatch.GetTimestamp()), 1),
                _phase,
                _balanceRun?.Served ?? 0,
                _reserveRun?.Served ?? 0,
                Interlocked.Read(ref _failures),
                blob?.BytesFromUpstream ?? 0,
                blob?.Requests ?? 0,
                table?.Requests ?? 0,
                (blob?.CutResponses ?? 0) + (table?.CutResponses ?? 0),
                Math.Round((now.Azurite - previous.Azurite) / seconds * 100, 0),
                Math.Round((now.AzuriteMain - previous.AzuriteMain) / seconds * 100, 0),
                Math.Round((now.Silo - previous.Silo) / seconds * 100, 0),
                now.Sockets,
                now.Files);
            rows.Add(row);
            previous = now;
            if (Stopwatch.GetElapsedTime(lastPrint) >= PrintInterval)
            {
                lastPrint = Stopwatch.GetTimestamp();
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"  {row.Phase,-17} {row.Seconds,6:0.0} s  balance {row.BalanceServed,7:N0}  reserve {row.ReserveServed,7:N0} of {options.Spaces:N0}  failed calls {row.Failures,8:N0}  blob {Mib(row.BlobBytesFromAzurite)} MiB in {row.BlobRequests:N0} req  table {row.TableRequests:N0} req  cut {row.CutResponses:N0}  Azurite {row.AzuriteCpuPercent:0}% (main {row.AzuriteMainThreadCpuPercent:0}%), fds {row.AzuriteSockets:N0} sockets + {row.AzuriteOtherFileDescriptors:N0}  silo {row.SiloCpuPercent:0}%"));
            }
        }
    }

    /// <summary>Every Space asked for its balance, then (after <paramref name="afterBalance"/>) for one reserve through
    /// its user grain; times from <paramref name="origin"/>.</summary>
    private async Task<(RecoveryPhaseReport Balance, RecoveryPhaseReport Reserve)> RecoveryPhasesAsync(IGrainFactory grains, string runId, long origin, string originText, long readyAt,
        SpaceBalance?[] balances, long[] recoveryHolds, Func<Task>? afterBalance, CancellationToken cancellationToken)
    {
        var order = Shuffled(_model.Spaces, options.Seed);
        _phase = "balance reads";
        var balance = await RunPhaseAsync("balance", order, origin, originText, readyAt, run => _balanceRun = run, async space =>
        {
            var answer = await grains.GetGrain<ISpaceGrain>(space.Id).GetBalanceAsync();
            balances[space.Index] = answer;
            return answer is null ? "no such Space (null)" : null;
        }, cancellationToken);
        if (afterBalance is not null)
        {
            await afterBalance();
        }

        _phase = "reserves";
        var spec = RecoverySpec();
        var reserve = await RunPhaseAsync("reserve", order, origin, originText, readyAt, run => _reserveRun = run, async space =>
        {
            var owner = _model.UserIds[space.Members[0]];
            var result = await grains.GetGrain<IUserGrain>(owner).ReserveAsync(space.Id, new ReserveRequest(RecoveryOperationId(runId, space), spec.Spec, 1));
            if (!result.Succeeded)
            {
                return $"rejected: {result.Rejection!.Code}";
            }

            recoveryHolds[space.Index] = result.Credits;
            return null;
        }, cancellationToken);
        return (balance, reserve);
    }

    /// <summary>Waits a sample interval; false once sampling is to stop.</summary>
    private static async Task<bool> NextSampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(SampleInterval, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // ---- Audit -------------------------------------------------------------------------------------------------

    /// <summary>
    /// Two checks. At recovery, from each Space's first balance answer: used ≥ the commits acknowledged before the
    /// kill (none lost), used ≤ those plus every flow of unknown outcome (nothing charged twice), held ≤ the flows of
    /// unknown outcome, used + held ≤ allowance. Then every flow of unknown outcome is resolved through the user grain
    /// with its own operation ids (reserve again, then commit with the commit id it had: a replayed answer says it had
    /// landed before the kill, a fresh one that it had not), reserves of the recovery phase that did not answer are sent
    /// again, and every Space is read: used must now equal exactly the acknowledged commits plus the resolved ones, and
    /// held the recovery phase's one hold.
    /// </summary>
    private async Task<RecoveryAuditReport> AuditAsync(IGrainFactory grains, string runId, SpaceBalance?[] balances, long[] recoveryHolds, CancellationToken cancellationToken)
    {
        const string Method = "at recovery: each Space's first balance answer against the commits acknowledged before the kill (used ≥ acknowledged, used ≤ acknowledged + flows of unknown outcome, held ≤ those, used + held ≤ allowance); then every flow of unknown outcome resolved with its own operation ids (reserve again, commit with its commit id: replayed = it had landed), and every Space (those the phases served first; a time budget of its own) gets its recovery reserve sent again if it never answered and is read: used = acknowledged + resolved exactly, held = the recovery reserve, one open hold (a Space with a flow still unresolved: used within its range)";
        observer.Info($"Audit: {_ledger.Uncertain.Count:N0} flows of unknown outcome to resolve, then {options.Spaces:N0} Spaces to read.");
        var failures = new ConcurrentQueue<string>();
        void Fail(string text)
        {
            if (failures.Count < 40)
            {
                failures.Enqueue(text);
            }
        }

        var checkedAtRecovery = 0;
        var failedAtRecovery = 0;
        foreach (var space in _model.Spaces)
        {
            if (balances[space.Index] is not { } b)
            {
                continue;
            }

            checkedAtRecovery++;
            var acknowledged = _ledger.CommittedCredits(space.Index);
            var slack = _ledger.UncertainCredits(space.Index);
            var problems = new List<string>();
            if (b.Used < acknowledged)
            {
                problems.Add($"used {b.Used} < {acknowledged} acknowledged (a commit was lost)");
            }

            if (b.Used > acknowledged + slack)
            {
                problems.Add($"used {b.Used} > {acknowledged} acknowledged + {slack} of unknown outcome");
            }

            if (b.Held > slack)
            {
                problems.Add($"held {b.Held} > {slack} of unknown outcome");
            }

            if (b.Used + b.Held > b.Allowance)
            {
                problems.Add($"used {b.Used} + held {b.Held} > allowance {b.Allowance}");
            }

            if (problems.Count > 0)
            {
                failedAtRecovery++;
                Fail($"at recovery, {space.Id}: {string.Join("; ", problems)}");
            }
        }

        // Resolve every flow of unknown outcome.
        var deadline = Stopwatch.GetTimestamp() + (long)(options.Timeout.TotalSeconds * Stopwatch.Frequency);
        var resolved = new long[options.Spaces];
        var unresolvedCredits = new long[options.Spaces];
        long commitLanded = 0, reserveLanded = 0, neither = 0, expired = 0, unresolved = 0;
        await Parallel.ForEachAsync(_ledger.Uncertain.ToArray(), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (flow, _) =>
        {
            var user = grains.GetGrain<IUserGrain>(flow.UserId);
            var reserved = await TryUntilAsync(() => user.ReserveAsync(flow.Space.Id, new ReserveRequest(flow.OperationId, flow.Spec.Spec, flow.Count)), deadline);
            if (reserved is null || !reserved.Succeeded || reserved.HoldId is null)
            {
                Interlocked.Increment(ref unresolved);
                Interlocked.Add(ref unresolvedCredits[flow.Space.Index], flow.Spec.UnitCredits * flow.Count);
                Fail($"unknown flow {flow.OperationId} in {flow.Space.Id}: reserve again → {(reserved is null ? "no answer" : reserved.Rejection?.Code.ToString() ?? "no hold")}");
                return;
            }

            var committed = await TryUntilAsync(() => user.CommitAsync(flow.Space.Id, new SettleRequest(CommitId(reserved.HoldId), reserved.HoldId)), deadline);
            if (committed is null)
            {
                Interlocked.Increment(ref unresolved);
                Interlocked.Add(ref unresolvedCredits[flow.Space.Index], flow.Spec.UnitCredits * flow.Count);
                Fail($"unknown flow {flow.OperationId} in {flow.Space.Id}: commit again → no answer");
                return;
            }

            if (!committed.Succeeded)
            {
                if (committed.Rejection?.Code == RejectionCode.HoldExpired)
                {
                    Interlocked.Increment(ref expired);
                    return;
                }

                Interlocked.Increment(ref unresolved);
                Interlocked.Add(ref unresolvedCredits[flow.Space.Index], flow.Spec.UnitCredits * flow.Count);
                Fail($"unknown flow {flow.OperationId} in {flow.Space.Id}: commit again → {committed.Rejection?.Code}");
                return;
            }

            Interlocked.Add(ref resolved[flow.Space.Index], committed.CommittedCredits);
            if (committed.Replayed)
            {
                Interlocked.Increment(ref commitLanded);
            }
            else if (reserved.Replayed)
            {
                Interlocked.Increment(ref reserveLanded);
            }
            else
            {
                Interlocked.Increment(ref neither);
            }
        });

        // Then every Space, with its own time budget, those the recovery phases served first (they are active): a
        // recovery reserve that did not answer is sent again (same id), so that each Space holds one, and the Space is read.
        var spec = RecoverySpec();
        var checkedAfter = 0;
        var failedAfter = 0;
        var unread = 0;
        long usedSeen = 0;
        var readDeadline = Stopwatch.GetTimestamp() + (long)(options.Timeout.TotalSeconds * Stopwatch.Frequency);
        var ordered = _model.Spaces.OrderBy(s => recoveryHolds[s.Index] > 0 ? 0 : balances[s.Index] is not null ? 1 : 2).ToArray();
        await Parallel.ForEachAsync(ordered, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken }, async (space, _) =>
        {
            if (recoveryHolds[space.Index] == 0)
            {
                var owner = _model.UserIds[space.Members[0]];
                var result = await TryUntilAsync(() => grains.GetGrain<IUserGrain>(owner).ReserveAsync(space.Id, new ReserveRequest(RecoveryOperationId(runId, space), spec.Spec, 1)), readDeadline);
                if (result is { Succeeded: true })
                {
                    recoveryHolds[space.Index] = result.Credits;
                }
            }

            var b = recoveryHolds[space.Index] == 0 ? null : await TryUntilAsync(() => grains.GetGrain<ISpaceGrain>(space.Id).GetBalanceAsync(), readDeadline);
            if (b is null)
            {
                Interlocked.Increment(ref unread);
                return;
            }

            Interlocked.Increment(ref checkedAfter);
            Interlocked.Add(ref usedSeen, b.Used);
            var expected = _ledger.CommittedCredits(space.Index) + Interlocked.Read(ref resolved[space.Index]);
            var open = Interlocked.Read(ref unresolvedCredits[space.Index]);
            var problems = new List<string>();
            if (b.Used < expected || b.Used > expected + open)
            {
                problems.Add(open == 0
                    ? $"used {b.Used} ≠ {expected} (acknowledged {_ledger.CommittedCredits(space.Index)} + resolved {resolved[space.Index]})"
                    : $"used {b.Used} outside [{expected}, {expected + open}] (acknowledged + resolved, plus flows still unresolved)");
            }

            if (open == 0 && (b.Held != recoveryHolds[space.Index] || b.OpenHolds != 1))
            {
                problems.Add($"held {b.Held} in {b.OpenHolds} open holds, expected the recovery reserve's {recoveryHolds[space.Index]} in 1");
            }

            if (b.Used + b.Held > b.Allowance)
            {
                problems.Add($"used {b.Used} + held {b.Held} > allowance {b.Allowance}");
            }

            if (problems.Count > 0)
            {
                Interlocked.Increment(ref failedAfter);
                Fail($"after resolving, {space.Id}: {string.Join("; ", problems)}");
            }
        });

        var status = failedAtRecovery > 0 || failedAfter > 0 || _anomalies > 0 ? "FAILED" : unread > 0 || unresolved > 0 ? "incomplete" : "passed";
        if (unread > 0)
        {
            Fail($"{unread:N0} Spaces could not be read (or hold their recovery reserve) within {options.Timeout.TotalSeconds:0} s: not audited after resolving.");
        }

        var report = new RecoveryAuditReport(status, Method, checkedAtRecovery, failedAtRecovery, checkedAfter, failedAfter, unread, _ledger.Uncertain.Count,
            commitLanded, reserveLanded, neither, expired, unresolved, TotalAcknowledged(), resolved.Sum(), usedSeen, failures.ToList());
        observer.Info($"Audit {status}: at recovery {checkedAtRecovery:N0} Spaces checked, {failedAtRecovery} failed; after resolving {checkedAfter:N0} checked, {failedAfter} failed, {unread:N0} unread; unknown flows: {commitLanded} had committed, {reserveLanded} had only reserved, {neither} had not landed, {expired} expired, {unresolved} unresolved.");
        return report;
    }

    // ---- Helpers -----------------------------------------------------------------------------------------------

    /// <summary>The first few anomalies go into the report's notes (all of them fail the audit).</summary>
    private void Note(long count, string text)
    {
        if (count <= 20)
        {
            _notes.Enqueue(text);
        }
    }

    private async Task WaitReadyAsync(SiloHostProcess silo, string what, CancellationToken cancellationToken)
    {
        try
        {
            await silo.Ready.WaitAsync(options.ReadyTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"The {what} did not print \"Ready.\" within {options.ReadyTimeout.TotalSeconds:0} s:\n{silo.Tail()}");
        }
    }

    private static async Task<IHost> ConnectAsync(IReadOnlyList<int> gatewayPorts, string serviceId, string clusterId, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });

        // Failures are counted by the harness; the client's own error log would flood the terminal while the silo is down.
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(gatewayPorts.Select(port => new IPEndPoint(IPAddress.Loopback, port)).ToArray())
            .Configure<ClusterOptions>(o =>
            {
                o.ServiceId = serviceId;
                o.ClusterId = clusterId;
            }));
        var host = builder.Build();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await host.StartAsync(timeout.Token);
        return host;
    }

    private static async Task StopClientAsync(IHost host)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await host.StopAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or OrleansException or ObjectDisposedException)
        {
        }
        finally
        {
            host.Dispose();
        }
    }

    private static async Task<T> RetryAsync<T>(Func<Task<T>> call, int attempts, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception) when (attempt < attempts && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * attempt, 2_000)), cancellationToken);
            }
        }
    }

    /// <summary>Calls until an answer or the deadline; null if none came.</summary>
    private async Task<T?> TryUntilAsync<T>(Func<Task<T>> call, long deadline)
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
                return await call().WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                await Task.Delay(options.RetryDelay > TimeSpan.Zero ? options.RetryDelay : TimeSpan.FromMilliseconds(100), CancellationToken.None);
            }
        }

        return default;
    }

    private async Task PrintWhileAsync(Func<string> line, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(PrintInterval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            observer.Info("  " + line());
        }
    }

    private void WriteAcknowledged(string path)
    {
        var spaces = _model.Spaces.Select(s => new
        {
            space = s.Id,
            committedCredits = _ledger.CommittedCredits(s.Index),
            committedItems = _ledger.CommittedItems(s.Index),
            unknownCredits = _ledger.UncertainCredits(s.Index),
        });
        var unknown = _ledger.Uncertain.Select(f => new { space = f.Space.Id, user = f.UserId, operationId = f.OperationId, spec = f.Spec.Spec.ToString(), credits = f.Spec.UnitCredits * f.Count });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(new { spaces, unknown }, new JsonSerializerOptions { WriteIndented = false }));
        observer.Info($"Acknowledged before the kill: {Interlocked.Read(ref _commits):N0} commits ({TotalAcknowledged():N0} credits), {_ledger.Uncertain.Count:N0} flows of unknown outcome; written to {path}.");
    }

    private long TotalAcknowledged() => _model.Spaces.Sum(s => _ledger.CommittedCredits(s.Index));

    /// <summary>The recovery reserve: one standard image (1 credit in the default price book).</summary>
    private SpecChoice RecoverySpec() => _model.Specs.First(s => !s.IsFree && s.Spec.Resolution == ResolutionTier.Standard && s.Spec.Media == MediaKind.Image);

    private static string RecoveryOperationId(string runId, SpaceModel space) => $"{runId}-recovery-{space.Index}";

    /// <summary>The commit id of a hold's first settle, as <c>QuotaHold</c> derives it.</summary>
    private static string CommitId(string holdId) => $"{holdId}:c1";

    private static long Tail(IReadOnlyDictionary<string, long> before, IReadOnlyDictionary<string, long> now) =>
        now.Sum(s => Math.Max(0, s.Value - before.GetValueOrDefault(s.Key)));

    private static SpaceModel[] Shuffled(SpaceModel[] spaces, int seed)
    {
        var copy = spaces.ToArray();
        new Random(seed).Shuffle(copy);
        return copy;
    }

    /// <summary>The exception's type, and its inner exceptions' (up to three).</summary>
    internal static string Describe(Exception exception)
    {
        var names = new List<string>();
        for (var e = exception; e is not null && names.Count < 4; e = e is AggregateException { InnerExceptions.Count: > 0 } a ? a.InnerExceptions[0] : e.InnerException)
        {
            var name = e.GetType().Name;
            if (e is RequestFailedException r)
            {
                name += $"({r.Status}{(r.ErrorCode is null ? "" : " " + r.ErrorCode)})";
            }

            names.Add(name);
        }

        return string.Join(" ← ", names);
    }

    private static LatencySummary Summary(LongConcurrentHistogram micros)
    {
        static double Ms(long value) => Math.Round(value / 1000.0, 1);
        return micros.TotalCount == 0
            ? new LatencySummary(0, 0, 0, 0, 0)
            : new LatencySummary(micros.TotalCount, Ms(micros.GetValueAtPercentile(50)), Ms(micros.GetValueAtPercentile(90)), Ms(micros.GetValueAtPercentile(99)), Ms(micros.GetMaxValue()));
    }

    private static ProxyServiceSummary? Summarize(HttpCountingProxy? proxy) => proxy is null
        ? null
        : new ProxyServiceSummary(proxy.Service, proxy.Connections, proxy.Requests, proxy.BytesToUpstream, proxy.BytesFromUpstream, proxy.ResponseBodyBytes,
            proxy.CutResponses, proxy.CutBodyBytes, proxy.ParseErrors, proxy.Closes, proxy.Rows());

    private string OutcomeText(RecoveryPhaseReport? balance, RecoveryPhaseReport? reserve, StorageSummary storage, ProcessWindow processes)
    {
        static string Phase(RecoveryPhaseReport? p) => p is null
            ? "not run"
            : p.Converged
                ? string.Create(CultureInfo.InvariantCulture, $"all {p.Spaces:N0} served {p.AllServedSecondsAfterProcessStart:0.0} s after the process started ({p.AllServedSecondsAfterReady:0.0} s after Ready)")
                : string.Create(CultureInfo.InvariantCulture, $"did not converge: {p.Served:N0} of {p.Spaces:N0} served after {p.EndedSecondsAfterProcessStart - p.StartedSecondsAfterProcessStart:0} s");
        var read = storage.Blob is { } blob
            ? string.Create(CultureInfo.InvariantCulture, $"blob: {Mib(blob.BytesFromAzurite)} MiB from Azurite in {blob.Requests:N0} answered requests + {blob.CutResponses:N0} cut off")
            : string.Create(CultureInfo.InvariantCulture, $"Azurite wrote {Mib(storage.AzuriteSyscallBytesWritten)} MiB (syscalls)");
        var table = storage.Table is { } t ? string.Create(CultureInfo.InvariantCulture, $"; table: {t.Requests:N0} requests") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"balance: {Phase(balance)}; reserve: {Phase(reserve)}; {read}{table}; Azurite {processes.AzuriteCpuPercent:0}% of a core (main thread {processes.AzuriteMainThreadCpuPercent:0}%)");
    }

    private RecoverySettings Settings(Azurite azurite, string serviceId, IReadOnlyDictionary<string, string> firstSiloEnvironment, string siloDll) =>
        new(options.Spaces, options.TailMiB, options.Concurrency, options.Timeout.TotalSeconds, options.RetryDelay.TotalMilliseconds,
            options.Seed, options.Proxy, azurite.Describe, serviceId, firstSiloEnvironment, InheritedQuotaEnvironment(), siloDll);

    private static IReadOnlyDictionary<string, string> InheritedQuotaEnvironment() =>
        new SortedDictionary<string, string>(Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Where(e => e.Key is string key && key.StartsWith("Quota__", StringComparison.Ordinal) && !key.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(e => (string)e.Key, e => e.Value as string ?? ""), StringComparer.Ordinal);

    private static double Seconds(long from, long to) => (double)(to - from) / Stopwatch.Frequency;

    private static double? Round(double? value) => value is { } v ? Math.Round(v, 2) : null;

    internal static string Mib(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>One phase's live counters: served Spaces, per-Space attempts and latencies.</summary>
    private sealed class PhaseRun(int spaces)
    {
        private int _served;
        private long _firstAnswerAt;
        private long _lastAnswerAt;

        public long Calls;

        public int[] Attempts { get; } = new int[spaces];

        public LongConcurrentHistogram FirstAnswer { get; } = new(1, 3_600_000_000, 3);

        public LongConcurrentHistogram SincePhaseStart { get; } = new(1, 3_600_000_000, 3);

        public ConcurrentDictionary<string, long> Failures { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, string> Samples { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, long> Rejections { get; } = new(StringComparer.Ordinal);

        public int Served => Volatile.Read(ref _served);

        public long LastAnswerAt => Interlocked.Read(ref _lastAnswerAt);

        /// <summary>When the phase's first answer came (Stopwatch ticks), or null before it.</summary>
        public long? FirstAnswerAt => Interlocked.Read(ref _firstAnswerAt) is > 0 and var at ? at : null;

        public void Answered(int space, long sinceAsked, long sincePhaseStart, long at, int attempts)
        {
            Attempts[space] = attempts;
            FirstAnswer.RecordValue(Math.Clamp(Micros(sinceAsked), 1, FirstAnswer.HighestTrackableValue));
            SincePhaseStart.RecordValue(Math.Clamp(Micros(sincePhaseStart), 1, SincePhaseStart.HighestTrackableValue));
            Interlocked.Increment(ref _served);
            Interlocked.CompareExchange(ref _firstAnswerAt, at, 0);
            long seen;
            while ((seen = Interlocked.Read(ref _lastAnswerAt)) < at && Interlocked.CompareExchange(ref _lastAnswerAt, at, seen) != seen)
            {
            }
        }

        private static long Micros(long ticks) => (long)(ticks * 1_000_000.0 / Stopwatch.Frequency);
    }

    /// <summary>CPU and I/O of Azurite, the new silo and this process over the recovery window.</summary>
    private sealed class UsageWindow(Azurite azurite)
    {
        private UsageSample _start;
        private int _mostSockets;
        private int _mostFiles;
        private int _samples;
        private int _sockets;
        private (long ReadChars, long WrittenChars, long DiskRead, long DiskWritten) _io;

        public (long ReadChars, long WrittenChars, long DiskRead, long DiskWritten) Io { get; private set; }

        public void Start(SiloHostProcess silo)
        {
            _io = azurite.IoCounters();
            _start = Take(silo) with { At = Seconds(0, silo.StartedAt), Silo = 0 };
        }

        public UsageSample Take(SiloHostProcess silo)
        {
            var cpu = azurite.CpuSeconds();
            // Sockets are told apart every fifth sample only (see OpenFileDescriptors); the others are the total minus
            // the sockets last counted.
            var fds = azurite.OpenFileDescriptors(classify: _samples++ % 5 == 0);
            _sockets = fds.Sockets ?? Math.Min(_sockets, fds.Total);
            _mostSockets = Math.Max(_mostSockets, _sockets);
            _mostFiles = Math.Max(_mostFiles, fds.Total - _sockets);
            using var self = Process.GetCurrentProcess();
            return new UsageSample(Seconds(0, Stopwatch.GetTimestamp()), cpu.Process, cpu.MainThread, silo.CpuSeconds(), self.TotalProcessorTime.TotalSeconds, _sockets, fds.Total - _sockets);
        }

        public ProcessWindow Stop(SiloHostProcess silo)
        {
            var end = Take(silo);
            var io = azurite.IoCounters();
            Io = (io.ReadChars - _io.ReadChars, io.WrittenChars - _io.WrittenChars, io.DiskRead - _io.DiskRead, io.DiskWritten - _io.DiskWritten);
            var seconds = Math.Max(end.At - _start.At, 1e-3);
            double Percent(double used) => Math.Round(used / seconds * 100, 1);
            return new ProcessWindow(Math.Round(seconds, 1),
                Math.Round(end.Azurite - _start.Azurite, 1), Percent(end.Azurite - _start.Azurite),
                Math.Round(end.AzuriteMain - _start.AzuriteMain, 1), Percent(end.AzuriteMain - _start.AzuriteMain), azurite.ResidentMiB(),
                Math.Round(end.Silo - _start.Silo, 1), Percent(end.Silo - _start.Silo), silo.ResidentMiB(),
                Math.Round(end.Harness - _start.Harness, 1), Percent(end.Harness - _start.Harness), _mostSockets, _mostFiles, azurite.MaxOpenFiles());
        }
    }

    private readonly record struct UsageSample(double At, double Azurite, double AzuriteMain, double Silo, double Harness, int Sockets, int Files);

    /// <summary>The journal's segments of one service, listed from Azurite: name → length in bytes.</summary>
    private sealed class JournalMeter(string connectionString, string serviceId)
    {
        private readonly BlobContainerClient _container = new BlobServiceClient(connectionString).GetBlobContainerClient("quota-journal");

        public async Task<IReadOnlyDictionary<string, long>> SegmentsAsync(CancellationToken cancellationToken)
        {
            var segments = new SortedDictionary<string, long>(StringComparer.Ordinal);
            try
            {
                await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, JournalLifecycle.ServicePrefix(serviceId), cancellationToken))
                {
                    segments[blob.Name] = blob.Properties.ContentLength ?? 0;
                }
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
            }

            return segments;
        }
    }
}
