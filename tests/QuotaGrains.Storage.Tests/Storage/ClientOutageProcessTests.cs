using QuotaGrains.Tests.Cluster;
using Xunit.Abstractions;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// A client process without any Azure assembly, against the real silo process on Azurite: with Azurite stopped, every
/// request fails as <see cref="QuotaUnavailableException"/>, with no inner exception and its cause as text (before,
/// the client got <see cref="TypeLoadException"/>: "Unable to load Azure.RequestFailedException, Azure.Core"), through
/// the client library and calling the grains directly; with Azurite back, the same requests (same operation ids)
/// succeed, once.
/// </summary>
public sealed class ClientOutageProcessTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(30);
    private Azurite _azurite = null!;

    public async Task InitializeAsync() => _azurite = await Azurite.StartOnDiskAsync();

    public async Task DisposeAsync() => await _azurite.DisposeAsync();

    [Fact]
    public void The_probe_is_a_client_without_Azure()
    {
        var assemblies = Directory.GetFiles(ClientProbeProcess.OutputDirectory, "*.dll").Select(Path.GetFileName).ToList();

        Assert.Contains("QuotaGrains.Client.dll", assemblies);
        Assert.DoesNotContain(assemblies, a => a!.StartsWith("Azure.", StringComparison.Ordinal) || a == "QuotaGrains.Grains.dll");
    }

    [Fact]
    public async Task A_client_without_Azure_sees_only_QuotaUnavailableException_in_an_outage_then_each_request_succeeds_once()
    {
        var serviceId = QuotaClusterFixture.NewId("probe");
        var (space, owner, user) = (QuotaClusterFixture.NewId("space"), QuotaClusterFixture.NewId("owner"), QuotaClusterFixture.NewId("user"));
        await using var silo = await SiloProcess.StartAsync(_azurite.ConnectionString, serviceId);

        // One attempt per request: what the client reports is what the grain sent (its retries are tested elsewhere).
        await using var probe = ClientProbeProcess.Start(silo.GatewayPort, serviceId, SiloProcess.ClusterId,
            new Dictionary<string, string> { ["Quota__Client__MaxAttempts"] = "1" });
        await AssertOkAsync(probe, $"create {space} {owner} create");
        await AssertOkAsync(probe, $"add-member {space} {owner} {user} add");
        await AssertOkAsync(probe, $"reserve {user} {space} held");

        await _azurite.StopAsync();

        // Writes to an active Space: the reserve and the commit ride in one journal append, which fails.
        var writes = new[] { $"reserve {user} {space} during", "commit held" };
        var failed = await Task.WhenAll(writes.Select(c => probe.RunAsync(c, Answer)));

        // Reads, and first calls to grains that are not active: their state cannot be loaded, and Orleans answers the
        // callers waiting for a failed activation with its exception.
        var reads = new[]
        {
            $"balance {space}", $"grain-balance {space}", $"ledger {space}", $"grain-ledger {space}",
            $"balance {QuotaClusterFixture.NewId("space")}", $"grain-balance {QuotaClusterFixture.NewId("space")}",
            $"spaces {QuotaClusterFixture.NewId("user")}", $"grain-spaces {QuotaClusterFixture.NewId("user")}",
            $"reserve {QuotaClusterFixture.NewId("user")} {space} first", $"grain-reserve {QuotaClusterFixture.NewId("user")} {space} first",
        };
        failed = [.. failed, .. await Task.WhenAll(reads.Select(c => probe.RunAsync(c, Answer)))];

        foreach (var outcome in failed)
        {
            output.WriteLine($"{outcome.EndedAt - outcome.StartedAt,6} ms  {outcome}");
        }

        Assert.All(failed, outcome =>
        {
            Assert.False(outcome.Ok, outcome.ToString());
            Assert.Equal(typeof(QuotaUnavailableException).FullName, outcome.Type);
            Assert.Null(outcome.Inner);
            Assert.Contains("Cause: ", outcome.Message);
        });

        await _azurite.RestartAsync();

        // The same requests, with the same operation ids: each succeeds, once.
        var reserved = await UntilOkAsync(probe, $"reserve {user} {space} during");
        var committed = await UntilOkAsync(probe, "commit held");
        Assert.True(reserved.Bool("succeeded") && !reserved.Bool("replayed"), reserved.ToString());
        Assert.True(committed.Bool("succeeded") && !committed.Bool("replayed"), committed.ToString());
        Assert.True((await probe.RunAsync($"reserve {user} {space} during", Answer)).Bool("replayed"));
        var balance = await UntilOkAsync(probe, $"grain-balance {space}");
        Assert.Equal((4, 4, 1), (balance.Long("used"), balance.Long("held"), balance.Long("openHolds")));
        await UntilOkAsync(probe, $"ledger {space}");
    }

    private static async Task AssertOkAsync(ClientProbeProcess probe, string command)
    {
        var outcome = await probe.RunAsync(command, Answer);
        Assert.True(outcome.Ok && outcome.Value.GetProperty("succeeded").GetBoolean(), outcome.ToString());
    }

    /// <summary>Repeats <paramref name="command"/> until it is answered: right after Azurite is back, a Space that failed
    /// closed during the outage may still be on its way out, and answers with the outage's failure.</summary>
    private static async Task<ProbeOutcome> UntilOkAsync(ClientProbeProcess probe, string command)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            var outcome = await probe.RunAsync(command, Answer);
            if (outcome.Ok || DateTime.UtcNow > deadline)
            {
                Assert.True(outcome.Ok, outcome.ToString());
                return outcome;
            }

            Assert.Equal(typeof(QuotaUnavailableException).FullName, outcome.Type);
            await Task.Delay(250);
        }
    }
}
