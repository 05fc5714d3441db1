using QuotaGrains.Tests.Cluster;
using Xunit.Abstractions;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// A client process (no Azure assembly) keeps a few dozen reserves in flight against the real silo process, which is
/// killed with SIGKILL: every call in flight ends as <see cref="QuotaUnavailableException"/> within
/// <see cref="Bound"/> of the kill, not at the Orleans client's response timeout (30 s by default; the client library
/// ends them when their gateway connection closes, and retries them first; here <c>MaxAttempts</c> times, without the
/// retry budget that would otherwise wait for the cluster to change).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ClientKillProcessTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Workers = 32;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Calls_in_flight_when_their_silo_is_killed_end_as_QuotaUnavailableException_within_the_bound()
    {
        var serviceId = QuotaClusterFixture.NewId("probe-kill");
        var space = QuotaClusterFixture.NewId("space");
        var users = Enumerable.Range(0, 8).Select(i => $"{space}-u{i}").ToArray();
        await using var silo = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId);
        // No retry budget: what is measured is how an attempt in flight ends, and with the only silo gone every retry
        // would fail as a cluster change until the budget is spent (ClusterFaultTests measures the budget on 3 silos).
        await using var probe = ClientProbeProcess.Start(silo.GatewayPort, serviceId, SiloProcess.ClusterId,
            new Dictionary<string, string> { ["Quota__Client__RetryBudget"] = "00:00:00" });
        Assert.True((await probe.RunAsync($"create {space} {users[0]} create", TimeSpan.FromSeconds(30))).Ok);
        foreach (var user in users.Skip(1))
        {
            Assert.True((await probe.RunAsync($"add-member {space} {users[0]} {user} add-{user}", TimeSpan.FromSeconds(30))).Ok);
        }

        // Every worker keeps one reserve in flight; kill once all are going.
        probe.Send("load", $"load {Workers} {space} {string.Join(',', users)} 60");
        await probe.LineAsync("load:running", TimeSpan.FromSeconds(30));
        await Task.Delay(300);
        var killedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await silo.KillAsync();

        // A call that started before the process was gone was in flight at its death (on a loaded machine, workers start
        // new calls in the milliseconds between the signal and the exit); each call's end is counted from the signal.
        var deadAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var ends = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => probe.OutcomeAsync($"load/{w}", TimeSpan.FromSeconds(45))));

        var afterKill = ends.Select(e => e.EndedAt - killedAt).Order().ToList();
        var inFlight = ends.Count(e => e.StartedAt <= deadAt);
        output.WriteLine($"{Workers} workers, {inFlight} with a call in flight at the kill; each call's end after the kill (ms): " +
            $"min {afterKill[0]}, median {afterKill[afterKill.Count / 2]}, p90 {afterKill[(int)(afterKill.Count * 0.9)]}, max {afterKill[^1]}");
        foreach (var end in ends.OrderBy(e => e.EndedAt))
        {
            output.WriteLine($"{end.Tag,-8} started {end.StartedAt - killedAt,6} ms, ended {end.EndedAt - killedAt,6} ms after the kill: {end.Type}: {end.Message}");
        }

        Assert.All(ends, end =>
        {
            Assert.False(end.Ok, end.ToString());
            Assert.Equal(typeof(QuotaUnavailableException).FullName, end.Type);
            Assert.Null(end.Inner);
        });
        Assert.True(inFlight > Workers / 2, $"only {inFlight} calls were in flight at the kill");
        Assert.True(afterKill[^1] <= Bound.TotalMilliseconds, $"the last call ended {afterKill[^1]} ms after the kill");
    }
}
