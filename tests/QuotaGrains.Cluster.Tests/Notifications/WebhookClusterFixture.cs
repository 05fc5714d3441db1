using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Grains.Notifications;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Notifications;

/// <summary>
/// One in-process silo on real time (a Standard Webhooks receiver refuses a timestamp more than 5 minutes off), a
/// receiver on loopback, one global endpoint (path <see cref="GlobalPath"/>), a short retry schedule and attempt timeout.
/// Tests use Spaces and endpoint paths of their own.
/// </summary>
public class WebhookClusterFixture : IAsyncLifetime
{
    public const string GlobalPath = "global";

    /// <summary>The global endpoint's secret.</summary>
    public static readonly string GlobalSecret = "whsec_" + Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    /// <summary>5 attempts: at once, then 250 ms, 1 s, 2 s and 4 s after each failure. Spread over 7 s so that a receiver
    /// that only answered late on a loaded machine (the suites run side by side) is tried again, not given up on.</summary>
    public static readonly TimeSpan[] Schedule = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];

    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    public WebhookReceiver Receiver { get; private set; } = null!;

    /// <summary>What a Space's own endpoints may reach besides public addresses: the receiver, on loopback.</summary>
    protected virtual IReadOnlyList<string> AllowedPrivateNetworks => ["127.0.0.0/8"];

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IQuotaClient Quota => Cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    public async Task InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddQuotaGrains(o => o.ConfigureWebhooks(w =>
            {
                w.Endpoints = [new WebhookEndpointOptions { Name = "ops", Url = Receiver.Url(GlobalPath), Secret = GlobalSecret }];
                w.RetrySchedule = Schedule;
                w.AttemptTimeout = AttemptTimeout;
                w.AllowedPrivateNetworks = [.. AllowedPrivateNetworks];
            }));
            silo.Services.AddHttpClient(WebhookSender.SpaceHttpClientName).AddHttpMessageHandler(() => new ThrowsOnceHandler());
        });
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Receiver.DisposeAsync();
    }

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>An Enterprise Space of <paramref name="allowance"/> credits owned by <paramref name="owner"/>.</summary>
    public async Task<string> CreateSpaceAsync(string owner, long allowance)
    {
        var spaceId = NewId("space");
        var created = await Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest(NewId("op"), owner, PlanTier.Enterprise, CustomAllowance: allowance));
        Assert.True(created.Succeeded, created.Rejection?.ToString());
        return spaceId;
    }

    /// <summary>Reserves and commits <paramref name="credits"/> credits (AI Shadows, 1 each) for <paramref name="user"/>.</summary>
    public async Task SpendAsync(string user, string spaceId, int credits)
    {
        await using var hold = await Quota.ReserveAsync(user, spaceId, new GenerationSpec("ai-shadows"), credits);
        Assert.True(hold.Succeeded, hold.Rejection?.ToString());
        var committed = await hold.CommitAsync();
        Assert.True(committed.Succeeded, committed.Rejection?.ToString());
    }

    /// <summary>Waits (bounded) until the Space's outbox shows what <paramref name="done"/> wants.</summary>
    public async Task<IReadOnlyList<NotificationView>> WaitForNotificationsAsync(string spaceId, Func<IReadOnlyList<NotificationView>, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var views = await Quota.GetNotificationsAsync(spaceId);
            if (done(views))
            {
                return views;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Space {spaceId}: the outbox shows {views.Count} notification(s), not what the test waits for:{Describe(views)}");
            await Task.Delay(50);
        }
    }

    /// <summary>Each notification with each endpoint's status, attempts and last answer: what a failed wait prints.</summary>
    private static string Describe(IReadOnlyList<NotificationView> views) => string.Concat(views.Select(v =>
        $"\n  {v.Kind} {v.Id}: " + string.Join("; ", v.Deliveries.Select(d =>
            $"{d.EndpointId} {d.Status} after {d.Attempts} attempt(s), last {d.LastStatusCode?.ToString() ?? d.LastError ?? "none"}"))));
}

/// <summary>A handler that throws something no HTTP client documents, once per path starting with
/// <see cref="Prefix"/>: what a faulty handler in the pipeline does.</summary>
internal sealed class ThrowsOnceHandler : DelegatingHandler
{
    public const string Prefix = "throws-once-";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Thrown = new(StringComparer.Ordinal);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        request.RequestUri!.AbsolutePath.TrimStart('/') is var path && path.StartsWith(Prefix, StringComparison.Ordinal) && Thrown.TryAdd(path, true)
            ? throw new InvalidOperationException("a handler failed")
            : base.SendAsync(request, cancellationToken);
}

[CollectionDefinition(Name)]
public sealed class WebhookClusterCollection : ICollectionFixture<WebhookClusterFixture>
{
    public const string Name = "Webhook cluster";
}
