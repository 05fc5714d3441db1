using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Client;

namespace QuotaGrains.Tests.Hosting;

/// <summary><c>Quota:Telemetry:GrainCalls</c>: what grain calls cost and record when their trace is not sampled, and
/// that a sampled reserve is one trace either way. Counts every Activity of Orleans' application source that is
/// created in the process, recorded or not (a listener that asks for nothing sees those others' sampling made).</summary>
[Collection(EngineWebHostCollection.Name)]
public sealed class GrainCallTracingTests
{
    private static readonly GenerationSpec HdImage = new("virtual-model", MediaKind.Image, ResolutionTier.Hd);

    [Fact]
    public async Task By_default_an_unsampled_reserve_and_commit_create_no_grain_call_activity()
    {
        await using var engine = await EngineWebHost.StartAsync();
        var space = await CreateSpaceAsync(engine);
        using var created = new CreatedActivities();

        await ReserveAndCommitUnsampledAsync(engine, space);

        Assert.Equal([], created.Names);
    }

    [Fact]
    public async Task A_reserve_and_commit_without_a_callers_span_create_no_activity_at_all()
    {
        await using var engine = await EngineWebHost.StartAsync();
        var space = await CreateSpaceAsync(engine);
        using var created = new CreatedActivities("QuotaGrains", "Microsoft.Orleans.Application");
        var client = engine.Services.GetRequiredService<IQuotaClient>();
        Activity.Current = null;

        await using var hold = await client.ReserveAsync("alice", space, HdImage);
        Assert.True(hold.Succeeded, hold.Rejection?.Message);
        Assert.True((await hold.CommitAsync()).Succeeded);

        Assert.Equal([], created.Names);
    }

    [Fact]
    public async Task By_default_a_sampled_reserve_is_one_trace_through_both_grains()
    {
        await using var engine = await EngineWebHost.StartAsync();
        var space = await CreateSpaceAsync(engine);
        var traceId = await ReserveSampledAsync(engine, space);

        var spans = await WaitForTraceAsync(engine, traceId);

        var reserve = EngineTelemetryTests.Single(spans, "quota.reserve", ActivityKind.Client);
        EngineTelemetryTests.AssertCallChain(spans, reserve, "ReserveAsync", space, $"{space}-job", "reserve");
    }

    [Fact]
    public async Task EveryCall_uses_Orleans_filters_which_create_activities_for_unsampled_calls_and_trace_a_sampled_reserve()
    {
        var everyCall = new Dictionary<string, string?> { ["Quota:Telemetry:GrainCalls"] = "EveryCall" };
        await using var engine = await EngineWebHost.StartAsync(everyCall);
        var space = await CreateSpaceAsync(engine);
        using (var created = new CreatedActivities())
        {
            await ReserveAndCommitUnsampledAsync(engine, space);

            // The user grain's and the Space grain's incoming calls start (unrecorded) roots, for the reserve and the commit.
            Assert.Equal(2, created.Names.Count(n => n.EndsWith("IUserGrain/ReserveAsync", StringComparison.Ordinal) || n.EndsWith("IUserGrain/CommitAsync", StringComparison.Ordinal)));
            Assert.Equal(2, created.Names.Count(n => n.EndsWith("ISpaceGrain/ReserveAsync", StringComparison.Ordinal) || n.EndsWith("ISpaceGrain/CommitAsync", StringComparison.Ordinal)));
        }

        var traceId = await ReserveSampledAsync(engine, space);
        var spans = await WaitForTraceAsync(engine, traceId);
        var reserve = EngineTelemetryTests.Single(spans, "quota.reserve", ActivityKind.Client);
        EngineTelemetryTests.AssertCallChain(spans, reserve, "ReserveAsync", space, $"{space}-job", "reserve");
    }

    private static async Task ReserveAndCommitUnsampledAsync(EngineWebHost engine, string space)
    {
        var client = engine.Services.GetRequiredService<IQuotaClient>();
        using var upstream = EngineWebHost.StartUpstreamRequest(sampled: false);
        await using var hold = await client.ReserveAsync("alice", space, HdImage);
        Assert.True(hold.Succeeded, hold.Rejection?.Message);
        Assert.True((await hold.CommitAsync()).Succeeded);
    }

    private static async Task<ActivityTraceId> ReserveSampledAsync(EngineWebHost engine, string space)
    {
        var client = engine.Services.GetRequiredService<IQuotaClient>();
        using var upstream = EngineWebHost.StartUpstreamRequest();
        await using var hold = await client.ReserveAsync("alice", space, HdImage, operationId: $"{space}-job");
        Assert.True(hold.Succeeded, hold.Rejection?.Message);

        // The trace context rode in that call only: the caller's own request context is as it was.
        Assert.Null(RequestContext.Get("traceparent"));
        return upstream.TraceId;
    }

    private static async Task<List<Activity>> WaitForTraceAsync(EngineWebHost engine, ActivityTraceId traceId)
    {
        // Every span ended before the call that made it returned; the deadline only bounds a hang.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var spans = engine.Trace(traceId);
            if (spans.Any(s => s.OperationName == "quota.journal.append") || DateTime.UtcNow > deadline)
            {
                return spans;
            }

            await Task.Delay(20);
        }
    }

    private static async Task<string> CreateSpaceAsync(EngineWebHost engine)
    {
        var space = "trc-" + Guid.NewGuid().ToString("N")[..10];
        var created = await engine.Services.GetRequiredService<IQuotaClient>().CreateSpaceAsync(space, new CreateSpaceRequest($"{space}-create", "alice", PlanTier.Pro));
        Assert.True(created.Succeeded, created.Rejection?.Message);
        return space;
    }

    /// <summary>The names of the Activities of the given sources (by default Orleans' application source) created while
    /// it listens.</summary>
    private sealed class CreatedActivities : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly List<string> _names = [];

        public CreatedActivities(params string[] sources)
        {
            string[] names = sources.Length == 0 ? ["Microsoft.Orleans.Application"] : sources;
            _listener = new ActivityListener
            {
                ShouldListenTo = source => names.Contains(source.Name),
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
                ActivityStarted = activity =>
                {
                    lock (_names)
                    {
                        _names.Add(activity.OperationName);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public List<string> Names
        {
            get
            {
                lock (_names)
                {
                    return [.. _names];
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
