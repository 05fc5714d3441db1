using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QuotaGrains.Client;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Silo.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Hosting;

/// <summary>Readiness as a probe sees it when the journal fails, and the production defaults of the web host.</summary>
[Collection(EngineWebHostCollection.Name)]
public sealed class EngineHealthTests
{
    [Fact]
    public async Task Readiness_fails_while_journal_appends_fail_and_returns_when_one_succeeds()
    {
        var journal = new FaultyJournalStore(new MemoryJournalStore());
        await using var engine = await EngineWebHost.StartAsync(services: s => s.AddSingleton<IJournalStore>(journal));
        var client = engine.Services.GetRequiredService<IQuotaClient>();
        Assert.True((await client.CreateSpaceAsync("health-1", new CreateSpaceRequest("health-1-create", "alice", PlanTier.Pro))).Succeeded);
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await JournalCheckAsync(engine));

        journal.AppendFault = (_, _) => new IOException("disk on fire");
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => client.ReserveAsync("alice", "health-1", new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd), operationId: "health-1-job"));
        var (status, check) = await JournalCheckAsync(engine);
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), (status, check));

        journal.AppendFault = null;
        await using (var hold = await client.ReserveAsync("alice", "health-1", new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd), operationId: "health-1-job"))
        {
            Assert.True(hold.Succeeded, hold.Rejection?.Message);
        }

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await JournalCheckAsync(engine));
    }

    [Fact]
    public async Task Readiness_fails_while_Azure_storage_does_not_answer_and_returns_with_it()
    {
        await using var azurite = await Azurite.StartOnDiskAsync();
        await using var engine = await EngineWebHost.StartAsync(new Dictionary<string, string?>
        {
            ["Quota:Storage:Kind"] = "azure",
            ["Quota:Storage:ConnectionString"] = azurite.ConnectionString,
            ["Quota:Storage:OperationTimeout"] = "00:00:02",
        });
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await CheckAsync(engine, "storage"));

        // The answer is kept for StorageHealthCheck.CacheFor (5 s): wait for the next probe to see the outage.
        await azurite.StopAsync();
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await WaitForCheckAsync(engine, "storage", "Unhealthy"));

        await azurite.RestartAsync();
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await WaitForCheckAsync(engine, "storage", "Healthy"));
    }

    [Fact]
    public async Task In_production_the_dashboard_is_off_unless_configured()
    {
        await using var engine = await EngineWebHost.StartAsync();

        using var dashboard = await engine.Http.GetAsync("/dashboard/");
        using var live = await engine.Http.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.NotFound, dashboard.StatusCode);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public void The_dashboard_defaults_to_on_in_development_only()
    {
        Assert.True(new QuotaSiloOptions().DashboardOn(new Environment(Environments.Development)));
        Assert.False(new QuotaSiloOptions().DashboardOn(new Environment(Environments.Production)));
        Assert.True(new QuotaSiloOptions { Dashboard = true }.DashboardOn(new Environment(Environments.Production)));
        Assert.False(new QuotaSiloOptions { Dashboard = false }.DashboardOn(new Environment(Environments.Development)));
    }

    [Fact]
    public void The_HTTP_port_and_dashboard_path_are_validated_with_the_silo_settings()
    {
        Assert.Empty(new QuotaSiloOptions().Validate(null));
        Assert.Equal(["HttpPort must be between 1 and 65535."], new QuotaSiloOptions { HttpPort = 0 }.Validate(null));
        Assert.Equal(["HttpPort must differ from SiloPort and GatewayPort."], new QuotaSiloOptions { HttpPort = 30000 }.Validate(null));
        Assert.Equal(["DashboardPath '/health/dash' must start with '/', name a path below the root, and not be under /health."], new QuotaSiloOptions { DashboardPath = "/health/dash" }.Validate(null));
        Assert.Equal(["DashboardPath '/' must start with '/', name a path below the root, and not be under /health."], new QuotaSiloOptions { DashboardPath = "/" }.Validate(null));
        Assert.Equal(["ShutdownTimeout 00:00:00 must be between 1 second and 1 hour."], new QuotaSiloOptions { ShutdownTimeout = TimeSpan.Zero }.Validate(null));
        Assert.Equal(["Kubernetes hosting needs Clustering 'azure' (silos in pods form a cluster through the membership table)."], new QuotaSiloOptions { Kubernetes = true }.Validate(null));
    }

    private static Task<(HttpStatusCode Status, string? Check)> JournalCheckAsync(EngineWebHost engine) => CheckAsync(engine, "journal");

    /// <summary>The readiness answer and the status of one of its checks.</summary>
    private static async Task<(HttpStatusCode Status, string? Check)> CheckAsync(EngineWebHost engine, string check)
    {
        using var ready = await engine.Http.GetAsync("/health/ready");
        using var report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        return (ready.StatusCode, report.RootElement.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());
    }

    /// <summary>Probes as Kubernetes would (every 250 ms here) until <paramref name="check"/> reports <paramref name="status"/>;
    /// the deadline only bounds a hang (the cache lasts 5 s, a probe of a stopped Azurite fails at once or at its timeout).</summary>
    private static async Task<(HttpStatusCode Status, string? Check)> WaitForCheckAsync(EngineWebHost engine, string check, string status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var answer = await CheckAsync(engine, check);
            if (answer.Check == status || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(250);
        }
    }

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "test";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = null!;
    }
}
