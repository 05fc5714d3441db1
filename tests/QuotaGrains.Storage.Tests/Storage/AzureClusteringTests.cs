using Microsoft.Extensions.DependencyInjection;

namespace QuotaGrains.Tests.Storage;

/// <summary>Silo processes with <c>Quota:Silo:Clustering=azure</c> on one Azurite form one cluster through Orleans'
/// membership table, and a Space created through one silo's gateway is served through the other's.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureClusteringTests(AzuriteFixture azurite)
{
    private static readonly Dictionary<string, string> AzureClustering = new() { ["Quota:Silo:Clustering"] = "azure" };

    [Fact]
    public async Task Two_silo_processes_join_one_cluster_on_the_membership_table()
    {
        var serviceId = "clustering-" + Guid.NewGuid().ToString("N")[..8];
        await using var first = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, AzureClustering);
        await using var second = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, AzureClustering);

        using var viaFirst = await first.ConnectClientAsync(serviceId);
        var management = viaFirst.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);

        // A silo joins in steps (joining, then active, then everyone reads the table): ask until both are active.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        Dictionary<SiloAddress, SiloStatus> hosts;
        while ((hosts = await management.GetHosts(onlyActive: true)).Count < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, $"active silos: {hosts.Count}\nfirst:\n{first.Output}\nsecond:\n{second.Output}");
            await Task.Delay(200);
        }

        Assert.Equal(2, hosts.Count);
        Assert.All(hosts.Keys, silo => Assert.Equal("127.0.0.1", silo.Endpoint.Address.ToString()));
        Assert.Contains("clustering 'azure'", first.Output, StringComparison.Ordinal);

        // One cluster: what one gateway's client creates, the other gateway's client reads (one activation of the Space).
        var spaceId = "space-" + serviceId;
        var space = viaFirst.Services.GetRequiredService<IClusterClient>().GetGrain<ISpaceGrain>(spaceId);
        Assert.True((await space.CreateAsync(new CreateSpaceRequest("create-1", "owner-1", PlanTier.Pro))).Succeeded);

        using var viaSecond = await second.ConnectClientAsync(serviceId);
        var balance = await viaSecond.Services.GetRequiredService<IClusterClient>().GetGrain<ISpaceGrain>(spaceId).GetBalanceAsync();
        Assert.Equal((spaceId, PlanTier.Pro, 0L), (balance!.SpaceId, balance.Plan, balance.Used));
    }
}
