using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// A silo process with Azure storage serves concurrent traffic and is killed with SIGKILL; a new silo process on
/// the same Azurite shows every acknowledged operation (DOMAIN.md invariants 1–3), and every operation that was in
/// flight at the kill, retried with its operation id, has exactly one outcome.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class KillTests(AzuriteFixture azurite)
{
    private const int Workers = 24;

    [Fact]
    public async Task Every_acknowledged_operation_survives_kill_9_and_in_flight_ones_have_one_outcome()
    {
        var serviceId = QuotaClusterFixture.NewId("kill");
        var spaceId = QuotaClusterFixture.NewId("space");
        var users = Enumerable.Range(0, 8).Select(i => $"{spaceId}-u{i}").ToArray();
        var open = new ConcurrentDictionary<string, (string User, long Credits)>();   // acknowledged reserves not settled
        var committed = new ConcurrentDictionary<string, long>();                      // acknowledged commits by hold
        var inFlight = new ConcurrentBag<(string User, string Kind, string OperationId, string HoldId)>();
        var acknowledged = 0;

        var first = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId);
        try
        {
            using var client = await first.ConnectClientAsync(serviceId);
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            var space = grains.GetGrain<ISpaceGrain>(spaceId);
            Assert.True((await space.CreateAsync(new CreateSpaceRequest("create", users[0], PlanTier.Enterprise, CustomAllowance: 1_000_000))).Succeeded);
            foreach (var user in users.Skip(1))
            {
                Assert.True((await space.AddMemberAsync(new AddMemberRequest($"add-{user}", users[0], user, SpaceRole.Member))).Succeeded);
            }

            using var stop = new CancellationTokenSource();
            var traffic = Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var user = users[(worker + i) % users.Length];
                    var holdId = $"w{worker}-h{i}";
                    var grain = grains.GetGrain<IUserGrain>(user);
                    ReserveResult reserved;
                    try
                    {
                        reserved = await grain.ReserveAsync(spaceId, new ReserveRequest(holdId, new GenerationSpec("recolor"), 1 + (i % 3)));
                    }
                    catch (Exception)
                    {
                        inFlight.Add((user, "reserve", holdId, holdId));
                        return;
                    }

                    Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
                    open[holdId] = (user, reserved.Credits);
                    Interlocked.Increment(ref acknowledged);
                    if (i % 2 == 1)
                    {
                        continue;
                    }

                    try
                    {
                        var commit = await grain.CommitAsync(spaceId, new SettleRequest($"{holdId}-c", holdId));
                        Assert.True(commit.Succeeded, commit.Rejection?.ToString());
                        open.TryRemove(holdId, out _);
                        committed[holdId] = commit.CommittedCredits;
                        Interlocked.Increment(ref acknowledged);
                    }
                    catch (Exception)
                    {
                        inFlight.Add((user, "commit", $"{holdId}-c", holdId));
                        return;
                    }
                }
            })).ToList();

            // Kill in the middle of the traffic, once a good number of operations were acknowledged.
            while (Volatile.Read(ref acknowledged) < 600)
            {
                await Task.Delay(20);
            }

            await first.KillAsync();
            stop.Cancel();
            await Task.WhenAll(traffic);
        }
        finally
        {
            await first.DisposeAsync();
        }

        var second = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId);
        try
        {
            using var client = await second.ConnectClientAsync(serviceId);
            var grains = client.Services.GetRequiredService<IGrainFactory>();

            // Every acknowledged commit is there, and so is every acknowledged open hold.
            var before = await grains.GetGrain<ISpaceGrain>(spaceId).GetBalanceAsync();
            Assert.NotNull(before);
            Assert.True(before.Used >= committed.Values.Sum(), $"used {before.Used} < acknowledged {committed.Values.Sum()}");
            Assert.True(before.Used + before.Held <= before.Allowance);

            // Operations in flight at the kill: a retry with the same id has exactly one outcome, and a second retry
            // replays it.
            foreach (var (user, kind, operationId, holdId) in inFlight)
            {
                var grain = grains.GetGrain<IUserGrain>(user);
                if (kind == "reserve")
                {
                    var request = new ReserveRequest(operationId, new GenerationSpec("recolor"), 1 + (int.Parse(holdId[(holdId.LastIndexOf('h') + 1)..]) % 3));
                    var once = await grain.ReserveAsync(spaceId, request);
                    var twice = await grain.ReserveAsync(spaceId, request);
                    Assert.True(once.Succeeded, once.Rejection?.ToString());
                    Assert.True(twice.Replayed);
                    Assert.Equal(once.HoldId, twice.HoldId);
                    open[holdId] = (user, once.Credits);
                }
                else
                {
                    var request = new SettleRequest(operationId, holdId);
                    var once = await grain.CommitAsync(spaceId, request);
                    var twice = await grain.CommitAsync(spaceId, request);
                    Assert.True(once.Succeeded, once.Rejection?.ToString());
                    Assert.True(twice.Replayed);
                    Assert.Equal(once.CommittedCredits, twice.CommittedCredits);
                    open.TryRemove(holdId, out _);
                    committed[holdId] = once.CommittedCredits;
                }
            }

            // Now every operation has one known outcome: the pool is exactly their sum (invariants 1 and 2).
            var after = await grains.GetGrain<ISpaceGrain>(spaceId).GetBalanceAsync();
            Assert.Equal(committed.Values.Sum(), after!.Used);
            Assert.Equal(open.Values.Sum(h => h.Credits), after.Held);
            Assert.Equal(open.Count, after.OpenHolds);
            Assert.True(after.Used + after.Held <= after.Allowance);
        }
        finally
        {
            await second.DisposeAsync();
        }
    }
}
