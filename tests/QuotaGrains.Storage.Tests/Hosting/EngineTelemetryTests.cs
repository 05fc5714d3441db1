using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using QuotaGrains.Client;

namespace QuotaGrains.Tests.Hosting;

/// <summary>The engine host's spans, meters, health and dashboard, read as an operator would: through OpenTelemetry
/// exporters and over HTTP. Alone in its collection, after the parallel ones: metrics are aggregated by meter name over
/// the whole process, so no other engine may run meanwhile for the values to be exact.</summary>
[Collection(EngineWebHostCollection.Name)]
public sealed class EngineTelemetryTests(EngineTelemetryTests.Host fixture) : IClassFixture<EngineTelemetryTests.Host>
{
    private static readonly GenerationSpec HdImage = new("virtual-model", MediaKind.Image, ResolutionTier.Hd); // 4 × 2 = 8 credits

    private IQuotaClient Client => fixture.Engine.Services.GetRequiredService<IQuotaClient>();

    [Fact]
    public async Task A_reserve_and_its_commit_through_the_client_are_one_trace_down_to_the_journal_appends()
    {
        var space = await CreateSpaceAsync();
        string holdId;
        ActivityTraceId traceId;
        ActivitySpanId upstreamId;
        using (var upstream = EngineWebHost.StartUpstreamRequest())
        {
            (traceId, upstreamId) = (upstream.TraceId, upstream.SpanId);
            await using var hold = await Client.ReserveAsync("alice", space, HdImage, operationId: $"{space}-job-1");
            Assert.True(hold.Succeeded, hold.Rejection?.Message);
            holdId = hold.HoldId!;
            Assert.True((await hold.CommitAsync()).Succeeded);
        }

        var spans = await WaitForTraceAsync(traceId, s => s.Count(a => a.OperationName == "quota.journal.append") >= 2);

        // quota.reserve → IUserGrain/ReserveAsync (out, in) → ISpaceGrain/ReserveAsync (out, in) → quota.journal.append
        var reserve = Single(spans, "quota.reserve", ActivityKind.Client);
        Assert.Equal(upstreamId, reserve.ParentSpanId);
        Assert.Equal(space, reserve.GetTagItem("quota.space.id"));
        Assert.Equal($"{space}-job-1", reserve.GetTagItem("quota.operation.id"));
        Assert.Equal("Accepted", reserve.GetTagItem("quota.outcome"));
        var reserveAppend = AssertCallChain(spans, reserve, "ReserveAsync", space, $"{space}-job-1", "reserve");
        Assert.Equal(1, reserveAppend.GetTagItem("quota.journal.records"));
        Assert.True((int)reserveAppend.GetTagItem("quota.journal.bytes")! > 0);

        var commit = Single(spans, "quota.commit", ActivityKind.Client);
        Assert.Equal(upstreamId, commit.ParentSpanId);
        Assert.Equal($"{holdId}:c1", commit.GetTagItem("quota.operation.id"));
        Assert.Equal("Accepted", commit.GetTagItem("quota.outcome"));
        var commitAppend = AssertCallChain(spans, commit, "CommitAsync", space, $"{holdId}:c1", "commit");
        Assert.Equal(1, commitAppend.GetTagItem("quota.journal.records"));
        Assert.All(spans, s => Assert.Equal(traceId, s.TraceId));
    }

    [Fact]
    public async Task The_operator_gauges_and_counters_follow_a_hold_from_reserve_to_commit()
    {
        var before = fixture.Engine.CollectMetrics();
        var space = await CreateSpaceAsync();
        await using var hold = await Client.ReserveAsync("alice", space, HdImage, count: 3);
        Assert.True(hold.Succeeded, hold.Rejection?.Message);
        var held = fixture.Engine.CollectMetrics();
        Assert.True((await hold.CommitAsync()).Succeeded);
        var refused = await Client.ReserveAsync("mallory", space, HdImage);
        Assert.Equal(RejectionCode.NotAMember, refused.Rejection?.Code);
        var after = fixture.Engine.CollectMetrics();

        // This host's Spaces are the only ones in the process (the collection runs alone).
        Assert.Equal(Gauge(before, "quota.spaces.active") + 1, Gauge(held, "quota.spaces.active"));
        Assert.Equal(1, Gauge(held, "quota.holds.open"));
        Assert.Equal(24, Gauge(held, "quota.credits.held"));
        Assert.Equal(0, Gauge(after, "quota.holds.open"));
        Assert.Equal(0, Gauge(after, "quota.credits.held"));
        Assert.Equal(24, Sum(after, "quota.credits", ("movement", "committed")) - Sum(before, "quota.credits", ("movement", "committed")));
        Assert.Equal(1, Sum(after, "quota.requests", ("kind", "reserve"), ("outcome", "Accepted")) - Sum(before, "quota.requests", ("kind", "reserve"), ("outcome", "Accepted")));

        // The user grain refuses a non-member without calling the Space: only Space decisions count as rejections.
        Assert.Equal(Sum(before, "quota.rejections", ("kind", "reserve"), ("code", "NotAMember")), Sum(after, "quota.rejections", ("kind", "reserve"), ("code", "NotAMember")));

        // Create, reserve and commit: three journal appends of one record each, acknowledged; nothing queued now.
        Assert.Equal(3, HistogramCount(after, "quota.journal.block.records") - HistogramCount(before, "quota.journal.block.records"));
        Assert.Equal(3, HistogramCount(after, "quota.journal.append.duration") - HistogramCount(before, "quota.journal.append.duration"));
        Assert.Equal(0, Gauge(after, "quota.journal.queue.depth"));
        Assert.Equal(0, Gauge(after, "quota.journal.appends.in_flight"));
        Assert.True(Gauge(after, "quota.snapshot.lag.events") >= 2, "the reserve and the commit are durable and not yet in a snapshot");
        Assert.True(GaugeDouble(after, "quota.snapshot.lag.age") >= 0);

        // Orleans', the runtime's and ASP.NET Core's meters are collected too.
        Assert.Contains(after.Keys, name => name.StartsWith("orleans-", StringComparison.Ordinal) || name.StartsWith("orleans.", StringComparison.Ordinal));
        Assert.Contains("dotnet.gc.collections", after.Keys);
    }

    [Fact]
    public async Task Prometheus_scrapes_the_engine_meters_over_HTTP()
    {
        var space = await CreateSpaceAsync();
        await using (var hold = await Client.ReserveAsync("alice", space, HdImage))
        {
            Assert.True((await hold.CommitAsync()).Succeeded);
        }

        using var response = await fixture.Engine.Http.GetAsync("/metrics");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("quota_requests_total{otel_scope_name=\"QuotaGrains\",kind=\"reserve\",outcome=\"Accepted\"}", body, StringComparison.Ordinal);
        Assert.Contains("quota_journal_block_records_bucket{", body, StringComparison.Ordinal);
        Assert.Contains("quota_journal_append_duration_milliseconds_count{", body, StringComparison.Ordinal);
        Assert.Contains("quota_credits_held{otel_scope_name=\"QuotaGrains\"} 0", body, StringComparison.Ordinal);
        Assert.Contains("quota_holds_open{otel_scope_name=\"QuotaGrains\"} 0", body, StringComparison.Ordinal);
        Assert.Contains("quota_spaces_active{", body, StringComparison.Ordinal);
        Assert.Contains("orleans_", body, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections_total{", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_is_live_and_ready_with_each_check_named()
    {
        using var live = await fixture.Engine.Http.GetAsync("/health/live");
        using var ready = await fixture.Engine.Http.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", report.RootElement.GetProperty("status").GetString());
        var checks = report.RootElement.GetProperty("checks");
        Assert.Equal(["journal", "silo", "storage"], checks.EnumerateObject().Select(c => c.Name).Order().ToArray());
        Assert.All(checks.EnumerateObject(), c => Assert.Equal("Healthy", c.Value.GetProperty("status").GetString()));
        Assert.StartsWith("Silo S127.0.0.1:", checks.GetProperty("silo").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dashboard_is_served_at_its_path_when_turned_on()
    {
        using var page = await fixture.Engine.Http.GetAsync("/ops/dashboard/");
        using var version = await fixture.Engine.Http.GetAsync("/ops/dashboard/version");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, version.StatusCode);
    }

    /// <summary>caller → I{Grain}/{method} out and in for the user grain, then for the Space grain (tagged with the
    /// decision), then the journal append under the Space's span; returns the append.</summary>
    internal static Activity AssertCallChain(List<Activity> spans, Activity caller, string method, string space, string operationId, string kind)
    {
        var userOut = Child(spans, caller, $"IUserGrain/{method}", ActivityKind.Client);
        var userIn = Child(spans, userOut, $"IUserGrain/{method}", ActivityKind.Server);
        var spaceOut = Child(spans, userIn, $"ISpaceGrain/{method}", ActivityKind.Client);
        var spaceIn = Child(spans, spaceOut, $"ISpaceGrain/{method}", ActivityKind.Server);
        Assert.Equal(space, spaceIn.GetTagItem("quota.space.id"));
        Assert.Equal(operationId, spaceIn.GetTagItem("quota.operation.id"));
        Assert.Equal(kind, spaceIn.GetTagItem("quota.kind"));
        Assert.Equal("Accepted", spaceIn.GetTagItem("quota.outcome"));
        return Child(spans, spaceIn, "quota.journal.append", ActivityKind.Client);
    }

    private static Activity Child(List<Activity> spans, Activity parent, string nameEnd, ActivityKind kind)
    {
        var children = spans.Where(s => s.ParentSpanId == parent.SpanId && s.OperationName.EndsWith(nameEnd, StringComparison.Ordinal) && s.Kind == kind).ToList();
        Assert.True(children.Count == 1, $"{children.Count} {kind} span(s) '…{nameEnd}' under '{parent.OperationName}'; the trace: {Describe(spans)}");
        return children[0];
    }

    internal static Activity Single(List<Activity> spans, string name, ActivityKind kind)
    {
        var found = spans.Where(s => s.OperationName == name && s.Kind == kind).ToList();
        Assert.True(found.Count == 1, $"{found.Count} span(s) '{name}'; the trace: {Describe(spans)}");
        return found[0];
    }

    private static string Describe(List<Activity> spans) =>
        string.Join("; ", spans.Select(s => $"{s.OperationName} ({s.Kind}) {s.SpanId} ← {s.ParentSpanId}"));

    private async Task<List<Activity>> WaitForTraceAsync(ActivityTraceId traceId, Func<List<Activity>, bool> complete)
    {
        // Spans are exported as they end; every one of these ended before the call that made it returned, so this
        // normally succeeds at once. The deadline only bounds a hang.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var spans = fixture.Engine.Trace(traceId);
            if (complete(spans) || DateTime.UtcNow > deadline)
            {
                return spans;
            }

            await Task.Delay(20);
        }
    }

    private async Task<string> CreateSpaceAsync()
    {
        var space = "ops-" + Guid.NewGuid().ToString("N")[..10];
        var created = await Client.CreateSpaceAsync(space, new CreateSpaceRequest($"{space}-create", "alice", PlanTier.Pro));
        Assert.True(created.Succeeded, created.Rejection?.Message);
        return space;
    }

    private static long Gauge(Dictionary<string, MetricSnapshot> metrics, string name) =>
        Points(metrics, name).Sum(p => p.GetGaugeLastValueLong());

    private static double GaugeDouble(Dictionary<string, MetricSnapshot> metrics, string name) =>
        Points(metrics, name).Sum(p => p.GetGaugeLastValueDouble());

    private static long Sum(Dictionary<string, MetricSnapshot> metrics, string name, params (string Key, string Value)[] tags) =>
        Points(metrics, name).Where(p => Matches(p, tags)).Sum(p => p.GetSumLong());

    private static long HistogramCount(Dictionary<string, MetricSnapshot> metrics, string name) =>
        Points(metrics, name).Sum(p => p.GetHistogramCount());

    private static List<MetricPoint> Points(Dictionary<string, MetricSnapshot> metrics, string name) =>
        metrics.TryGetValue(name, out var metric) ? [.. metric.MetricPoints] : [];

    private static bool Matches(MetricPoint point, (string Key, string Value)[] tags)
    {
        var present = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            present[tag.Key] = tag.Value;
        }

        return tags.All(t => present.TryGetValue(t.Key, out var value) && Equals(value, t.Value));
    }

    /// <summary>One engine host for the class: tracing on, the dashboard on at <c>/ops/dashboard</c>.</summary>
    public sealed class Host : IAsyncLifetime
    {
        public EngineWebHost Engine { get; private set; } = null!;

        public async Task InitializeAsync() => Engine = await EngineWebHost.StartAsync(new Dictionary<string, string?>
        {
            ["Quota:Silo:Dashboard"] = "true",
            ["Quota:Silo:DashboardPath"] = "/ops/dashboard",
        });

        public async Task DisposeAsync() => await Engine.DisposeAsync();
    }
}

/// <summary>Engine web hosts run alone, after the parallel collections: their metrics are read by meter name, which
/// every engine in the process shares.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EngineWebHostCollection
{
    public const string Name = "engine web host";
}
