using System.Diagnostics;
using System.Globalization;
using Azure;
using Azure.Data.Tables;
using HdrHistogram;
using QuotaGrains.LoadTest.Options;
using QuotaGrains.LoadTest.Reporting;
using QuotaGrains.LoadTest.Targets.Azure;
using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>
/// The raw baseline of a durable run: every operation is one Azure Table upsert (<c>UpsertEntity</c>, replace) of
/// its Space's entity (partition = the Space's id, one row per Space), <c>Concurrency</c> in flight, Spaces picked
/// exactly as the workload picks them (same model, same seeds, same skew). It is the ceiling of any design that
/// writes once per operation, as a per-operation grain-state write would. No quota semantics and no audit: nothing
/// is decided, only written.
/// </summary>
public sealed class RawTableRunner(Azurite azurite, WorkloadOptions options, RawRowKeyKind rowKey, MachineInfo machine, IRunObserver observer)
{
    public const string KeyPrefix = "table-raw";

    public string Name => $"raw Table upsert (1 entity per op, row key {(rowKey == RawRowKeyKind.State ? "\"state\"" : "= Space id")})";

    public string Key => $"{KeyPrefix}-{rowKey.ToString().ToLowerInvariant()}";

    private volatile bool _stop;
    private volatile bool _measuring;
    private long _completed;
    private long _phaseStartedAt = Stopwatch.GetTimestamp();
    private volatile string _phase = "starting";

    public async Task<RunReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var runId = $"{startedAt:HHmmss}{Random.Shared.Next(0x1000, 0xFFFF):x4}";
        var model = new WorkloadModel(options, runId, startedAt);
        var tableName = $"raw{runId}";
        var clientOptions = new TableClientOptions();
        var table = new TableServiceClient(azurite.ConnectionString, clientOptions).GetTableClient(tableName);
        var setup = Stopwatch.StartNew();
        await table.CreateIfNotExistsAsync(cancellationToken);
        setup.Stop();

        var cpu = new AzuriteCpuWindow(azurite);
        using var requests = new AzureRequestCounter(azurite.BlobPort, azurite.TablePort);
        var workers = Enumerable.Range(0, options.Concurrency).Select(_ => new Worker()).ToArray();
        var meter = new ProcessMeter();
        using var stopOnCancel = cancellationToken.Register(() => _stop = true);
        SetPhase("warm-up");
        var tasks = Task.WhenAll(workers.Select((w, i) => Task.Run(() => WorkAsync(table, model, w, i), CancellationToken.None)));
        var displayUntil = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var display = observer.ShowLiveAsync(() => new LiveSnapshot(_phase, Stopwatch.GetElapsedTime(Volatile.Read(ref _phaseStartedAt)), Interlocked.Read(ref _completed), 0, 0,
            workers.Sum(w => w.ErrorCount), options.Concurrency), displayUntil.Task);

        await Task.WhenAny(tasks, Task.Delay(options.Warmup, CancellationToken.None));
        cpu.Start();
        meter.Start();
        requests.Measuring = true;
        var measureStarted = Stopwatch.GetTimestamp();
        _measuring = true;
        SetPhase("measuring");
        await Task.WhenAny(tasks, Task.Delay(options.Duration, CancellationToken.None));
        _stop = true;
        SetPhase("draining");
        var drained = await Task.WhenAny(tasks, Task.Delay(TimeSpan.FromMinutes(2), CancellationToken.None)) == tasks;
        var measuredEnd = Math.Max(workers.Max(w => w.LastMeasuredCompletion), measureStarted);
        var seconds = Math.Max(Stopwatch.GetElapsedTime(measureStarted, measuredEnd).TotalSeconds, 1e-3);
        var all = WorkerState.NewHistogram();
        foreach (var w in workers)
        {
            all.Add(w.Histogram);
        }

        var process = meter.Stop(all.TotalCount);
        requests.Measuring = false;
        cpu.Stop();
        displayUntil.TrySetResult();
        await display;

        var entities = 0;
        try
        {
            await foreach (var page in table.QueryAsync<TableEntity>(select: ["PartitionKey"], maxPerPage: 1000, cancellationToken: cancellationToken).AsPages())
            {
                entities += page.Values.Count;
            }

            // The raw table is not the engine's: drop it, so that an engine run on the same Azurite starts alike.
            await table.DeleteAsync(cancellationToken);
        }
        catch (RequestFailedException exception)
        {
            observer.Info($"Counting or dropping {tableName} failed: {exception.Status} {exception.ErrorCode}.");
        }

        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var w in workers)
        {
            foreach (var (key, value) in w.Errors)
            {
                errors[key] = errors.GetValueOrDefault(key) + value;
            }
        }

        var diagnostics = new Dictionary<string, string>
        {
            ["write"] = $"UpsertEntity (replace) of the Space's entity: partition = Space id, row key {(rowKey == RawRowKeyKind.State ? "\"state\"" : "= Space id")}, 5 properties; table {tableName}",
            ["entities in the table at the end"] = entities.ToString("N0", CultureInfo.InvariantCulture),
        };
        cpu.Describe(diagnostics);
        requests.Describe(diagnostics, seconds, all.TotalCount);
        var stats = LatencyStats.From("upsert", all, seconds);
        var o = options;
        return new RunReport
        {
            Target = Name,
            TargetKey = Key,
            Scenario = o.Scenario,
            RunId = runId,
            StartedAt = startedAt,
            Machine = machine,
            Workload = new WorkloadSummary(o.Scenario, o.Spaces, o.EffectiveUsers, o.MembersPerSpace, o.SkewText,
                model.SpacePicker is { } zipf ? Math.Round(zipf.TopShare, 4) : null, o.Concurrency, o.Duration.TotalSeconds,
                o.Operations, o.Warmup.TotalSeconds, 0, 1, 0, 0, 0, "-", 0, o.Seed),
            SetupSeconds = Math.Round(setup.Elapsed.TotalSeconds, 2),
            WarmupSeconds = o.Warmup.TotalSeconds,
            MeasuredSeconds = Math.Round(seconds, 3),
            Requests = all.TotalCount,
            RequestsPerSecond = Math.Round(all.TotalCount / seconds, 0),
            WritesPerSecond = Math.Round(all.TotalCount / seconds, 0),
            AllRequests = stats with { Kind = "all requests" },
            Kinds = [stats],
            Rejections = new SortedDictionary<string, long>(),
            Errors = errors,
            ErrorCount = errors.Values.Sum(),
            FirstError = workers.Select(w => w.FirstError).FirstOrDefault(e => e is not null),
            StoppedEarly = !drained || cancellationToken.IsCancellationRequested,
            StopReason = !drained ? "upserts still outstanding 2 min after the stop" : cancellationToken.IsCancellationRequested ? "cancelled" : "duration reached",
            Process = process,
            TargetDiagnostics = diagnostics,
            Audit = null,
        };
    }

    private async Task WorkAsync(TableClient table, WorkloadModel model, Worker state, int index)
    {
        // Spaces come from the workload's model with its skew, each worker on its own seeded stream.
        var random = new Random(unchecked((options.Seed * 1_000_003) + index));
        long sequence = 0;
        while (!_stop)
        {
            var measuring = _measuring;
            var space = model.Spaces[model.PickSpace(random)];
            var entity = new TableEntity(space.Id, rowKey == RawRowKeyKind.State ? "state" : space.Id)
            {
                ["Used"] = (long)random.Next(1, 1_000_000),
                ["Held"] = 0L,
                ["Generations"] = sequence,
                ["LastOperation"] = $"{model.RunId}-{index}-{sequence++}",
                ["At"] = DateTimeOffset.UtcNow,
            };
            var started = Stopwatch.GetTimestamp();
            try
            {
                await table.UpsertEntityAsync(entity, TableUpdateMode.Replace);
                var now = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref _completed);
                if (measuring)
                {
                    state.Histogram.RecordValue(Math.Clamp((long)((now - started) * 1_000_000.0 / Stopwatch.Frequency), 1, WorkerState.HighestMicroseconds));
                    state.LastMeasuredCompletion = now;
                }
            }
            catch (Exception exception) when (exception is RequestFailedException or TaskCanceledException or IOException or System.Net.Http.HttpRequestException)
            {
                state.Error(exception);
            }
        }
    }

    private void SetPhase(string phase)
    {
        _phase = phase;
        Volatile.Write(ref _phaseStartedAt, Stopwatch.GetTimestamp());
    }

    private sealed class Worker
    {
        private long _errors;

        public LongHistogram Histogram { get; } = WorkerState.NewHistogram();

        public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

        public string? FirstError { get; private set; }

        public long ErrorCount => Volatile.Read(ref _errors);

        public long LastMeasuredCompletion { get; set; }

        public void Error(Exception exception)
        {
            var key = exception is RequestFailedException r ? $"upsert: {r.Status} {r.ErrorCode}" : $"upsert: {exception.GetType().Name}";
            Errors[key] = Errors.GetValueOrDefault(key) + 1;
            FirstError ??= $"{key}: {exception.Message}";
            Volatile.Write(ref _errors, _errors + 1);
        }
    }
}
