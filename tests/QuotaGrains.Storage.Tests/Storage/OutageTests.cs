using System.Diagnostics;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Azurite stopped under a running engine: requests fail closed in bounded time and charge nothing; with
/// Azurite back on the same data the engine serves again without a restart, and nothing acknowledged is lost.</summary>
public sealed class OutageTests : IAsyncLifetime
{
    private Azurite _azurite = null!;

    public async Task InitializeAsync() => _azurite = await Azurite.StartOnDiskAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

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
            await AssertUnavailableAsync(user.ReserveAsync(spaceId, during));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"failing closed took {clock.Elapsed}");

            // Every read fails the same way, typed, with the cause as text: the failed Space's balance, its ledger (a
            // Table query), and the first call to a Space and to a user not yet active (their state cannot be loaded).
            var space = cluster.Client.GetGrain<ISpaceGrain>(spaceId);
            var unknownSpace = cluster.Client.GetGrain<ISpaceGrain>(QuotaClusterFixture.NewId("space"));
            var unknownUser = cluster.Client.GetGrain<IUserGrain>(QuotaClusterFixture.NewId("user"));
            await Task.WhenAll(
                AssertUnavailableAsync(space.GetBalanceAsync()),
                AssertUnavailableAsync(space.GetLedgerAsync(new LedgerQuery())),
                AssertUnavailableAsync(unknownSpace.GetBalanceAsync(), "RequestFailedException"),
                AssertUnavailableAsync(unknownUser.GetSpacesAsync(), "RequestFailedException"));

            await _azurite.RestartAsync();

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
            Assert.Null(await cluster.Quota().GetBalanceAsync(unknownSpace.GetPrimaryKeyString()));
            Assert.Empty(await cluster.Quota().GetUserSpacesAsync(unknownUser.GetPrimaryKeyString()));
        }
        finally
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>The call fails with our type alone: no inner exception (whose type a client may not have), the cause
    /// in the message.</summary>
    private static async Task AssertUnavailableAsync(Task call, string? cause = null)
    {
        var thrown = await Assert.ThrowsAsync<QuotaUnavailableException>(() => call);
        Assert.Null(thrown.InnerException);
        Assert.Contains(cause ?? "Cause: ", thrown.Message);
    }
}
