using System.Diagnostics;
using HdrHistogram;
using QuotaGrains.LoadTest.Options;
using QuotaGrains.LoadTest.Reporting;
using QuotaGrains.LoadTest.Targets;
using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>What the live display shows.</summary>
public readonly record struct LiveSnapshot(string Phase, TimeSpan Elapsed, long Requests, long Flows, long Rejections, long Errors, int InFlight);

/// <summary>
/// Runs one workload against one target: setup, warm-up, the measured window, drain, then the audit. A closed loop:
/// <c>Concurrency</c> workers, each with one request outstanding; each worker draws every choice of a flow from its
/// own seeded random stream before sending it, so every target sees the same sequence of requests.
/// </summary>
public sealed class LoadRunner
{
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(2);

    private readonly IQuotaTarget _target;
    private readonly WorkloadOptions _options;
    private readonly MachineInfo _machine;
    private readonly IRunObserver _observer;
    private WorkloadModel _model = null!;
    private SpaceLedger _ledger = null!;
    private WorkerState[] _workers = [];
    private volatile bool _stop;
    private volatile bool _measuring;
    private volatile string _phase = "starting";
    private string? _stopReason;
    private long _measuredIssued;
    private long _measureStartedAt;
    private long _errorTotal;
    private long _phaseStartedAt = Stopwatch.GetTimestamp();
    private string? _settled;

    public LoadRunner(IQuotaTarget target, WorkloadOptions options, MachineInfo machine, IRunObserver observer)
    {
        _target = target;
        _options = options;
        _machine = machine;
        _observer = observer;
    }

    public LiveSnapshot Snapshot()
    {
        long requests = 0, flows = 0, rejections = 0, errors = 0;
        foreach (var w in _workers)
        {
            requests += w.Requests;
            flows += w.Flows;
            rejections += w.RejectionCount;
            errors += w.ErrorCount;
        }

        return new LiveSnapshot(_phase, Stopwatch.GetElapsedTime(Volatile.Read(ref _phaseStartedAt)), requests, flows, rejections, errors, _options.Concurrency);
    }

    public void RequestStop(string reason)
    {
        Interlocked.CompareExchange(ref _stopReason, reason, null);
        _stop = true;
    }

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        using var stopOnCancel = cancellationToken.Register(() => RequestStop("cancelled"));
        var runId = $"{startedAt:HHmmss}{Random.Shared.Next(0x1000, 0xFFFF):x4}";

        SetPhase("starting target");
        await _target.StartAsync(cancellationToken);

        _model = new WorkloadModel(_options, runId, startedAt);
        _ledger = new SpaceLedger(_options.Spaces);
        SetPhase($"setting up {_options.Spaces:N0} Spaces");
        var setupClock = Stopwatch.StartNew();
        var created = 0;
        await _target.SetupAsync(_model, n => Volatile.Write(ref created, n), cancellationToken);
        setupClock.Stop();
        SetPhase("settling");
        _settled = await _target.SettleAsync(_model, _observer.Info, cancellationToken);
        _observer.Info($"{_target.Name}: {_options.Spaces:N0} Spaces, {_model.UserIds.Length:N0} users set up in {setupClock.Elapsed.TotalSeconds:0.0} s.");

        _workers = Enumerable.Range(0, _options.Concurrency).Select(_ => new WorkerState()).ToArray();
        var meter = new ProcessMeter();
        SetPhase("warm-up");
        var workers = Enumerable.Range(0, _options.Concurrency).Select(i => Task.Run(() => WorkerAsync(i, _workers[i]), CancellationToken.None)).ToArray();
        var allWorkers = Task.WhenAll(workers);
        var displayUntil = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var display = _observer.ShowLiveAsync(Snapshot, displayUntil.Task);

        await WaitAsync(_options.Warmup, allWorkers);
        await _target.MarkAsync(measuring: true);
        var servers = new ServerProcessMeter(_target.ServerProcesses);
        servers.Start();
        var loadAtStart = MachineProbe.LoadAverage();
        meter.Start();
        Volatile.Write(ref _measureStartedAt, Stopwatch.GetTimestamp());
        _measuring = true;
        SetPhase("measuring");
        await WaitAsync(_options.Duration, allWorkers);
        RequestStop(_stopReason ?? "duration reached");
        SetPhase("draining");

        var drained = await Task.WhenAny(allWorkers, Task.Delay(DrainLimit)) == allWorkers;
        displayUntil.TrySetResult();
        var measuredEnd = Math.Max(_workers.Max(w => w.LastMeasuredCompletion), Volatile.Read(ref _measureStartedAt));
        var measuredSeconds = Math.Max(Stopwatch.GetElapsedTime(_measureStartedAt, measuredEnd).TotalSeconds, 1e-3);
        var process = meter.Stop(_workers.Sum(w => w.MeasuredRequests));
        var serverUsage = servers.Stop(_workers.Sum(w => w.MeasuredRequests));
        var loadAtEnd = MachineProbe.LoadAverage();
        await _target.MarkAsync(measuring: false);
        await display;

        AuditReport? audit = null;
        if (drained)
        {
            SetPhase("auditing");
            audit = await AuditAsync(cancellationToken);
        }
        else
        {
            _observer.Info($"Requests still outstanding {DrainLimit.TotalSeconds:0} s after the stop: no audit.");
            audit = new AuditReport(false, 0, 0, 0, 0, 0, 0, 0, ["Requests were still outstanding after the drain limit; the audit was not run."]);
        }

        var diagnostics = await _target.DiagnosticsAsync();
        var report = BuildReport(startedAt, runId, setupClock.Elapsed, measuredSeconds, process, diagnostics, audit);
        ProcessUsage harness = new($"harness ({_target.HarnessRole} + load generator)", Environment.ProcessId, process.CpuPercentOfOneCore,
            process.CpuMicrosecondsPerRequest, process.WorkingSetMiB);
        return report with { Processes = [harness, .. serverUsage], LoadAverage = $"{loadAtStart} → {loadAtEnd}" };
    }

    private void SetPhase(string phase)
    {
        _phase = phase;
        Volatile.Write(ref _phaseStartedAt, Stopwatch.GetTimestamp());
    }

    private async Task WaitAsync(TimeSpan period, Task workers)
    {
        var until = Stopwatch.GetTimestamp() + (long)(period.TotalSeconds * Stopwatch.Frequency);
        while (!_stop && !workers.IsCompleted)
        {
            var left = until - Stopwatch.GetTimestamp();
            if (left <= 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(Math.Min(0.05, (double)left / Stopwatch.Frequency)));
        }
    }

    // ---- Workers ---------------------------------------------------------------------------------------------

    private async Task WorkerAsync(int index, WorkerState state)
    {
        var random = new Random(unchecked((_options.Seed * 1_000_003) + index));
        long sequence = 0;
        while (!_stop)
        {
            var measuring = _measuring;
            if (measuring && _options.Operations > 0 && Interlocked.Increment(ref _measuredIssued) > _options.Operations)
            {
                RequestStop("operation count reached");
                break;
            }

            var space = _model.Spaces[_model.PickSpace(random)];
            if (random.NextDouble() < _options.BalanceFraction)
            {
                await BalanceAsync(state, space, measuring);
            }
            else
            {
                await FlowAsync(state, random, space, $"{_model.RunId}-{index}-{sequence++}", measuring);
            }

            if (measuring)
            {
                state.LastMeasuredCompletion = Stopwatch.GetTimestamp();
            }
        }
    }

    private void Failed(WorkerState state, OpKind kind, Exception exception)
    {
        state.Error(kind, exception);
        if (Interlocked.Increment(ref _errorTotal) >= _options.MaxErrors)
        {
            RequestStop($"{_options.MaxErrors:N0} errors");
        }
    }

    private async Task BalanceAsync(WorkerState state, SpaceModel space, bool measuring)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var available = await _target.AvailableAsync(space);
            state.Record(OpKind.Balance, Stopwatch.GetTimestamp() - started, measuring);
            if (measuring && available is null)
            {
                state.Reject(OpKind.Balance, RejectionCode.SpaceNotFound);
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Failed(state, OpKind.Balance, exception);
        }
    }

    private async Task FlowAsync(WorkerState state, Random random, SpaceModel space, string operationId, bool measuring)
    {
        // Every choice of the flow is drawn before anything is sent, so outcomes never shift the random stream.
        var user = _model.UserIds[space.Members[random.Next(space.Members.Length)]];
        var spec = _model.PickSpec(random);
        var count = _options.BatchSize > 1 && random.NextDouble() < _options.BatchFraction ? _options.BatchSize : 1;
        List<int>? failed = null;
        for (var i = 0; i < count; i++)
        {
            if (random.NextDouble() < _options.FailureRate)
            {
                (failed ??= []).Add(i);
            }
        }

        var replay = random.NextDouble() < _options.ReplayFraction;
        var flowStarted = Stopwatch.GetTimestamp();
        var current = OpKind.Reserve;
        try
        {
            var reserved = await Timed(state, OpKind.Reserve, measuring, () => _target.ReserveAsync(space, user, spec, count, operationId));
            if (!reserved.Succeeded)
            {
                if (measuring)
                {
                    state.Reject(OpKind.Reserve, reserved.Rejection);
                }

                if (reserved.Rejection != RejectionCode.InsufficientCredits)
                {
                    state.Anomaly($"reserve {operationId} in {space.Id} refused: {reserved.Rejection}");
                }

                return;
            }

            if (reserved.IsFree != spec.IsFree || (!reserved.IsFree && (reserved.Replayed || reserved.Credits != spec.UnitCredits * count)))
            {
                state.Anomaly($"reserve {operationId}: free={reserved.IsFree} replayed={reserved.Replayed} credits={reserved.Credits}, expected {spec.UnitCredits * count}");
            }

            if (reserved.IsFree)
            {
                return;
            }

            ReserveOutcome? again = null;
            if (replay)
            {
                current = OpKind.Replay;
                again = await Timed(state, OpKind.Replay, measuring, () => _target.ReserveAsync(space, user, spec, count, operationId));
                if (!again.Succeeded || !again.Replayed || again.HoldId != reserved.HoldId || again.Credits != reserved.Credits)
                {
                    state.Anomaly($"replayed reserve {operationId}: succeeded={again.Succeeded} ({again.Rejection}) replayed={again.Replayed} hold={again.HoldId} credits={again.Credits}");
                    again = null;
                }
            }

            if (failed is { Count: var n } && n == count)
            {
                current = OpKind.Refund;
                var refunded = await Timed(state, OpKind.Refund, measuring, () => _target.SettleAsync(reserved, commit: false, items: null));
                Check(state, measuring, OpKind.Refund, operationId, refunded, expectedCredits: reserved.Credits, commit: false);
                state.RefundedCredits += refunded.RefundedCredits;
                return;
            }

            if (failed is not null)
            {
                current = OpKind.Refund;
                var refunded = await Timed(state, OpKind.Refund, measuring, () => _target.SettleAsync(reserved, commit: false, items: failed));
                Check(state, measuring, OpKind.Refund, operationId, refunded, expectedCredits: spec.UnitCredits * failed.Count, commit: false);
                state.RefundedCredits += refunded.RefundedCredits;
            }

            current = OpKind.Commit;
            var committed = await Timed(state, OpKind.Commit, measuring, () => _target.SettleAsync(reserved, commit: true, items: null));
            var expected = spec.UnitCredits * (count - (failed?.Count ?? 0));
            Check(state, measuring, OpKind.Commit, operationId, committed, expected, commit: true);
            if (committed.Succeeded)
            {
                _ledger.Committed(space.Index, committed.CommittedCredits, committed.ItemsSettled);
                state.CommittedCredits += committed.CommittedCredits;
            }

            if (again is not null && failed is null && committed.Succeeded)
            {
                // A lost reply to the commit: the same commit again (same derived operation id) must not charge twice.
                current = OpKind.Replay;
                var recommitted = await Timed(state, OpKind.Replay, measuring, () => _target.SettleAsync(again, commit: true, items: null));
                if (!recommitted.Succeeded || !recommitted.Replayed || recommitted.CommittedCredits != committed.CommittedCredits)
                {
                    state.Anomaly($"replayed commit of {operationId}: succeeded={recommitted.Succeeded} ({recommitted.Rejection}) replayed={recommitted.Replayed} credits={recommitted.CommittedCredits}");
                }
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The outcome is unknown: the audit sends the reserve again with the same id and refunds what is held.
            Failed(state, current, exception);
            _ledger.MarkUncertain(new UncertainFlow(space, user, spec, count, operationId));
        }
        finally
        {
            state.Record(OpKind.Flow, Stopwatch.GetTimestamp() - flowStarted, measuring);
        }
    }

    private static async Task<T> Timed<T>(WorkerState state, OpKind kind, bool measuring, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await call();
        state.Record(kind, Stopwatch.GetTimestamp() - started, measuring);
        return result;
    }

    private static void Check(WorkerState state, bool measuring, OpKind kind, string operationId, SettleOutcome outcome, long expectedCredits, bool commit)
    {
        if (!outcome.Succeeded)
        {
            if (measuring)
            {
                state.Reject(kind, outcome.Rejection);
            }

            state.Anomaly($"{kind.ToString().ToLowerInvariant()} of {operationId} refused: {outcome.Rejection}");
            return;
        }

        var credits = commit ? outcome.CommittedCredits : outcome.RefundedCredits;
        if (credits != expectedCredits || outcome.Replayed)
        {
            state.Anomaly($"{kind.ToString().ToLowerInvariant()} of {operationId}: {credits} credits (replayed={outcome.Replayed}), expected {expectedCredits}");
        }
    }

    // ---- Audit -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Per Space: used equals the committed credits the harness saw acknowledged (and generations the items), so
    /// nothing was charged twice or lost; held is zero and no hold is open, since every flow settled its hold; and
    /// used + held never exceeds the allowance. Flows that failed with an error are first resolved by sending the
    /// reserve again with the same operation id and refunding what is still pending; their credits widen the
    /// accepted range of used, as the outcome of such a commit is unknown by definition.
    /// </summary>
    private async Task<AuditReport> AuditAsync(CancellationToken cancellationToken)
    {
        var uncertain = _ledger.Uncertain.ToArray();
        var resolved = 0;
        foreach (var flow in uncertain)
        {
            if (await ResolveAsync(flow))
            {
                resolved++;
            }
        }

        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var failedSpaces = 0;
        long usedSeen = 0;
        await Parallel.ForEachAsync(
            _model.Spaces,
            new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = CancellationToken.None },
            async (space, _) =>
            {
                var problems = new List<string>();
                try
                {
                    var pool = await _target.ReadPoolAsync(space);
                    Interlocked.Add(ref usedSeen, pool.Used);
                    var acknowledged = _ledger.CommittedCredits(space.Index);
                    var slack = _ledger.UncertainCredits(space.Index);
                    var items = _ledger.CommittedItems(space.Index);
                    var itemSlack = _ledger.UncertainItems(space.Index);
                    if (!pool.Exists)
                    {
                        problems.Add("does not exist");
                    }
                    else
                    {
                        if (pool.Used < acknowledged || pool.Used > acknowledged + slack)
                        {
                            problems.Add(slack == 0
                                ? $"used {pool.Used} ≠ {acknowledged} committed and acknowledged"
                                : $"used {pool.Used} outside [{acknowledged}, {acknowledged + slack}] (acknowledged, plus flows of unknown outcome)");
                        }

                        if (pool.Generations < items || pool.Generations > items + itemSlack)
                        {
                            problems.Add($"generations {pool.Generations} ≠ {items} committed items acknowledged");
                        }

                        if (pool.Held != 0 || pool.OpenHolds != 0)
                        {
                            problems.Add($"held {pool.Held} in {pool.OpenHolds} open holds after every hold was settled");
                        }

                        if (pool.Used + pool.Held > pool.Allowance)
                        {
                            problems.Add($"used {pool.Used} + held {pool.Held} > allowance {pool.Allowance}");
                        }
                    }
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    problems.Add($"could not be read: {exception.GetType().Name}: {exception.Message}");
                }

                if (problems.Count > 0)
                {
                    Interlocked.Increment(ref failedSpaces);
                    if (failures.Count < 20)
                    {
                        failures.Enqueue($"{space.Id}: {string.Join("; ", problems)}");
                    }
                }
            });

        var anomalies = _workers.Sum(w => w.AnomalyCount);
        var failureList = failures.ToList();
        failureList.AddRange(_workers.SelectMany(w => w.Anomalies).Take(20).Select(a => $"anomaly: {a}"));
        if (resolved < uncertain.Length)
        {
            failureList.Add($"{uncertain.Length - resolved} flow(s) of unknown outcome could not be resolved.");
        }

        var passed = failedSpaces == 0 && anomalies == 0 && resolved == uncertain.Length;
        return new AuditReport(passed, _model.Spaces.Length, failedSpaces, _workers.Sum(w => w.CommittedCredits), usedSeen,
            uncertain.Length, resolved, anomalies, failureList);
    }

    private async Task<bool> ResolveAsync(UncertainFlow flow)
    {
        try
        {
            var reserved = await _target.ReserveAsync(flow.Space, flow.UserId, flow.Spec, flow.Count, flow.OperationId);
            if (!reserved.Succeeded || reserved.IsFree)
            {
                // Never reserved (or refused now: nothing was held then either).
                return true;
            }

            // The derived refund id may collide with one the flow used for other items: try the next one.
            for (var attempt = 0; attempt < 4; attempt++)
            {
                var refund = await _target.SettleAsync(reserved, commit: false, items: null);
                if (refund.Succeeded || refund.Rejection is RejectionCode.HoldNotFound or RejectionCode.HoldExpired)
                {
                    return true;
                }

                if (refund.Rejection != RejectionCode.OperationIdReused)
                {
                    return false;
                }
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            _observer.Info($"Resolving {flow.OperationId} failed: {exception.GetType().Name}: {exception.Message}");
        }

        return false;
    }

    // ---- Report ----------------------------------------------------------------------------------------------

    private RunReport BuildReport(DateTimeOffset startedAt, string runId, TimeSpan setup, double measuredSeconds, ProcessStats process,
        TargetDiagnostics diagnostics, AuditReport? audit)
    {
        var kinds = new List<LatencyStats>();
        var all = WorkerState.NewHistogram();
        foreach (var kind in WorkerState.Kinds)
        {
            var merged = WorkerState.NewHistogram();
            foreach (var w in _workers)
            {
                merged.Add(w.Histograms[(int)kind]);
            }

            if (kind != OpKind.Flow)
            {
                all.Add(merged);
            }

            if (merged.TotalCount > 0)
            {
                kinds.Add(LatencyStats.From(kind.ToString().ToLowerInvariant(), merged, measuredSeconds));
            }
        }

        var rejections = Merge(_workers.Select(w => w.Rejections));
        var errors = Merge(_workers.Select(w => w.Errors));
        var requests = all.TotalCount;
        var flows = _workers.Sum(w => w.Histograms[(int)OpKind.Flow].TotalCount);
        var o = _options;
        return new RunReport
        {
            Target = _target.Name,
            TargetKey = _target.Key,
            Scenario = o.Scenario,
            RunId = runId,
            StartedAt = startedAt,
            Machine = _machine,
            Workload = new WorkloadSummary(o.Scenario, o.Spaces, o.EffectiveUsers, o.MembersPerSpace, o.SkewText,
                _model.SpacePicker is { } zipf ? Math.Round(zipf.TopShare, 4) : null, o.Concurrency, o.Duration.TotalSeconds,
                o.Operations, o.Warmup.TotalSeconds, o.FailureRate, o.BatchSize, o.BatchFraction, o.BalanceFraction, o.ReplayFraction,
                o.PlanMixText, o.EnterpriseAllowance, o.Seed),
            SetupSeconds = Math.Round(setup.TotalSeconds, 2),
            WarmupSeconds = o.Warmup.TotalSeconds,
            MeasuredSeconds = Math.Round(measuredSeconds, 3),
            Requests = requests,
            RequestsPerSecond = Math.Round(requests / measuredSeconds, 0),
            WritesPerSecond = Math.Round(kinds.Where(k => k.Kind is "reserve" or "commit" or "refund").Sum(k => k.Count) / measuredSeconds, 0),
            Flows = flows,
            FlowsPerSecond = Math.Round(flows / measuredSeconds, 0),
            AllRequests = LatencyStats.From("all requests", all, measuredSeconds),
            Kinds = kinds,
            Rejections = rejections,
            RejectionCount = rejections.Values.Sum(),
            Errors = errors,
            ErrorCount = errors.Values.Sum(),
            FirstError = _workers.Select(w => w.FirstError).FirstOrDefault(e => e is not null),
            StoppedEarly = _stopReason is not "duration reached" and not "operation count reached",
            StopReason = _stopReason,
            Process = process,
            TargetDiagnostics = _settled is null ? diagnostics.Values : new Dictionary<string, string>(diagnostics.Values) { ["settled after setup"] = _settled },
            Audit = audit,
        };
    }

    private static SortedDictionary<string, long> Merge(IEnumerable<Dictionary<string, long>> parts)
    {
        var merged = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var part in parts)
        {
            foreach (var (key, value) in part)
            {
                merged[key] = merged.GetValueOrDefault(key) + value;
            }
        }

        return merged;
    }
}

/// <summary>Where the runner tells what it does: a live display and plain lines.</summary>
public interface IRunObserver
{
    void Info(string message);

    /// <summary>Shows progress until <paramref name="until"/> completes.</summary>
    Task ShowLiveAsync(Func<LiveSnapshot> snapshot, Task until);
}
