using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Cluster;

/// <summary>
/// One in-process silo and client for the whole collection. Grains read a <see cref="FakeTimeProvider"/> (grain
/// timers follow it too); Orleans' own background loops stay on real time. Tests use their own Space and user ids,
/// so they can share the cluster and the clock.
/// </summary>
public sealed class QuotaClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 1, 15, 10, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Time { get; } = new(Start);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IQuotaClient Quota => Cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>The silo's journal store: the embedded one, with the faults a test injects.</summary>
    internal FaultyJournalStore JournalStore { get; } = new(new MemoryJournalStore());

    /// <summary>Journal options for a fixture of a test's own (the shared one keeps the defaults).</summary>
    public Action<JournalOptions>? Journal { get; init; }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(Time);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        });
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<IJournalStore>(JournalStore);
            // Tests' webhook receivers are on loopback.
            silo.AddQuotaGrains(o => o.ConfigureWebhooks(w => w.AllowedPrivateNetworks = ["127.0.0.0/8"]));
            if (Journal is { } journal)
            {
                silo.Services.Configure(journal);
            }
        });
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>A Space id no other test uses.</summary>
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>Creates a Space owned by <paramref name="owner"/> with <paramref name="members"/> as Members.</summary>
    public Task<string> CreateSpaceAsync(PlanTier plan = PlanTier.Pro, string owner = "owner", long? customAllowance = null, params string[] members) =>
        Quota.CreateSpaceAsync(plan, owner, customAllowance, members);
}

[CollectionDefinition(Name)]
public sealed class QuotaClusterCollection : ICollectionFixture<QuotaClusterFixture>
{
    public const string Name = "Quota cluster";
}
