using System.Diagnostics;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Azurite stopped under a running engine: requests fail closed in bounded time and charge nothing; with
/// Azurite back on the same data the engine serves again without a restart, and nothing acknowledged is lost.</summary>
public sealed class OutageTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), QuotaClusterFixture.NewId("azurite"));
    private Azurite _azurite = null!;

    public async Task InitializeAsync() => _azurite = await Azurite.StartAsync(_data);

    public async Task DisposeAsync()
    {
        await _azurite.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task A_storage_outage_fails_closed_then_the_engine_recovers_without_a_restart()
    {
        var timeout = TimeSpan.FromSeconds(2);
        var cluster = await AzureClusters.StartAsync(_azurite, QuotaClusterFixture.NewId("svc"), AzureClusters.NewClock(), operationTimeout: timeout);
        try
        {
            var spaceId = QuotaClusterFixture.NewId("space");
            Assert.True((await cluster.Quota().CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "gus", PlanTier.Pro))).Succeeded);
            var user = cluster.Client.GetGrain<IUserGrain>("gus");
            var kept = await user.ReserveAsync(spaceId, new ReserveRequest("before", new GenerationSpec("recolor"), 5));
            Assert.True((await user.CommitAsync(spaceId, new SettleRequest("before-commit", kept.HoldId!))).Succeeded);

            await _azurite.StopAsync();
            var during = new ReserveRequest("during", new GenerationSpec("ai-video", MediaKind.Video));
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAsync<QuotaUnavailableException>(() => user.ReserveAsync(spaceId, during));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"failing closed took {clock.Elapsed}");

            await _azurite.StartAsync();

            // Same request, same operation id: the Space reloads from storage and decides it once.
            ReserveResult? after = null;
            Exception? last = null;
            for (var attempt = 0; attempt < 100 && after is null; attempt++)
            {
                try
                {
                    after = await user.ReserveAsync(spaceId, during);
                }
                catch (QuotaUnavailableException e)
                {
                    last = e;
                    // The failed activation is still on its way out; the next attempt reaches a fresh one.
                    await Task.Delay(100);
                }
            }

            Assert.True(after is not null, last?.ToString());
            Assert.True(after.Succeeded, after.Rejection?.ToString());
            var balance = await cluster.Quota().GetBalanceAsync(spaceId);
            Assert.Equal(20, balance!.Used);
            Assert.Equal(20, balance.Held);
            Assert.Equal(1, balance.OpenHolds);
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }
}
