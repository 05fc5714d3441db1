using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Storage;

/// <summary>Builds in-process clusters whose Spaces keep their journal, snapshots and ledger in an Azurite.</summary>
public static class AzureClusters
{
    public static async Task<InProcessTestCluster> StartAsync(
        Azurite azurite,
        string serviceId,
        TimeProvider time,
        Action<JournalOptions>? journal = null,
        TimeSpan? operationTimeout = null,
        Action<QuotaGrainsOptionsBuilder>? configure = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = serviceId;
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton(time);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        });
        builder.ConfigureSilo((_, silo) => silo.AddQuotaGrains(quota =>
        {
            quota.UseAzureStorage(azurite.ConnectionString);
            quota.Storage.OperationTimeout = operationTimeout ?? TimeSpan.FromSeconds(5);
            quota.ConfigureJournal(o =>
            {
                o.AppendTimeout = operationTimeout ?? TimeSpan.FromSeconds(5);
                journal?.Invoke(o);
            });
            configure?.Invoke(quota);
        }));
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public static IQuotaClient Quota(this InProcessTestCluster cluster) => cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    public static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
}

/// <summary>One Azurite (in memory) shared by the Azure storage tests.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public Azurite Azurite { get; private set; } = null!;

    public async Task InitializeAsync() => Azurite = await QuotaGrains.Testing.Azurite.StartAsync();

    public async Task DisposeAsync() => await Azurite.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
