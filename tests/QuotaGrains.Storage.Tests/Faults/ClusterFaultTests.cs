using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using QuotaGrains.Grains;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Renewals;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;
using QuotaGrains.Tests.Storage;
using Xunit.Abstractions;

namespace QuotaGrains.Tests.Faults;

/// <summary>
/// Three silo processes on Azure Table membership under generation-server traffic from a client in this process
/// (<see cref="QuotaTraffic"/>), through a fault of one silo (SIGKILL, SIGTERM) or a rolling restart of all three; then
/// every operation whose error a caller saw is retried with its id, and the audit checks each Space and its ledger
/// against what was acknowledged.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ClusterFaultTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Silos = 3;
    private const int Workers = 16;

    [Fact]
    public async Task Kill_9_of_a_silo_under_load_loses_nothing_and_its_Spaces_serve_again_on_the_survivors()
    {
        var test = Stopwatch.StartNew();
        var (cluster, traffic) = await UnderLoadAsync("kill3");
        await using var _ = cluster;

        var (victim, spaces) = await BusiestSiloAsync(cluster, traffic);
        var address = await cluster.AddressOfAsync(victim);

        // One per cluster, over three silos: the renewal clock (every silo asks for it at start), each renewal slot and
        // each Space and user has one activation.
        var activations = await OnePerClusterAsync(cluster);
        Assert.Equal(1, activations.Count(a => a.GrainType.Contains(nameof(RenewalClockGrain), StringComparison.Ordinal)));
        Assert.Contains(activations, a => a.GrainType.Contains(nameof(RenewalSlotGrain), StringComparison.Ordinal));
        Assert.Equal(traffic.Spaces.Count, activations.Count(a => a.GrainType.Contains(nameof(SpaceGrain), StringComparison.Ordinal)));
        var before = traffic.Acknowledged;
        var killedAt = traffic.Now;
        await cluster.KillAsync(victim);

        // Detection: the membership no longer has the silo active. Recovery: each of its Spaces answers again.
        var detected = Task.Run(() => UntilAsync(traffic, async () => (await Answer(() => cluster.HostsAsync(onlyActive: true)))?.ContainsKey(address) == false));
        var served = await Task.WhenAll(spaces.Select(space =>
            Task.Run(() => UntilAsync(traffic, async () => await Answer(() => cluster.Client.GetGrain<ISpaceGrain>(space).GetBalanceAsync()) is not null))));
        var declaredDead = await detected - killedAt;
        served = [.. served.Select(at => at - killedAt)];
        await traffic.AcknowledgedMoreAsync(300);
        output.WriteLine($"kill -9 of silo {victim.SiloPort}, home of {spaces.Count} of {traffic.Spaces.Count} Spaces; {Workers} workers");
        output.WriteLine($"declared dead {declaredDead} ms after the kill; its Spaces served again {served.Min()}–{served.Max()} ms after the kill " +
            $"({served.Max() - declaredDead} ms after it was declared dead); {traffic.Acknowledged - before} operations acknowledged since the kill");
        var (surfaced, retried) = await FinishAsync(traffic, killedAt, test);

        var homes = await Task.WhenAll(spaces.Select(space => cluster.WhereAsync(cluster.Client.GetGrain<ISpaceGrain>(space))));
        output.WriteLine($"its Spaces are now on silos {string.Join(", ", homes.Select(h => h?.SiloPort).Distinct())}");
        foreach (var survivor in cluster.Silos)
        {
            // Each survivor's reads of the dead stream: what it read from the store, and what the other gave it.
            output.WriteLine($"silo {survivor.SiloPort}: {string.Join(" | ", survivor.Output.Split('\n').Where(l => l.Contains("Journal reader: stream", StringComparison.Ordinal)).Select(l => l.Trim()))}");
        }

        Assert.All(homes, home => Assert.Contains(home, cluster.Silos));
        Assert.Equal(surfaced.Count, retried);
        await OnePerClusterAsync(cluster);
    }

    [Fact]
    public async Task A_graceful_stop_of_a_silo_under_load_loses_nothing_and_no_caller_sees_an_error()
    {
        var test = Stopwatch.StartNew();
        var (cluster, traffic) = await UnderLoadAsync("term3");
        await using var _ = cluster;

        var (victim, spaces) = await BusiestSiloAsync(cluster, traffic);
        var stoppedAt = traffic.Now;
        var exitCode = await cluster.StopAsync(victim);
        var exited = traffic.Now - stoppedAt;
        await traffic.AcknowledgedMoreAsync(300);
        output.WriteLine($"SIGTERM of silo {victim.SiloPort}, home of {spaces.Count} of {traffic.Spaces.Count} Spaces: exited with {exitCode} {exited} ms later");
        var (surfaced, _) = await FinishAsync(traffic, stoppedAt, test);

        Assert.Equal(0, exitCode);
        Assert.Empty(surfaced);
    }

    [Fact]
    public async Task A_rolling_restart_of_every_silo_under_load_loses_nothing_and_no_caller_sees_an_error()
    {
        var test = Stopwatch.StartNew();
        var (cluster, traffic) = await UnderLoadAsync("roll3");
        await using var _ = cluster;

        var startedAt = traffic.Now;
        foreach (var silo in cluster.Silos.ToList())
        {
            var stopAt = traffic.Now;
            Assert.Equal(0, await cluster.StopAsync(silo));
            var stopped = traffic.Now;
            var replacement = await cluster.StartSiloAsync();
            output.WriteLine($"silo {silo.SiloPort}: exited {stopped - stopAt} ms after SIGTERM; replacement {replacement.SiloPort} active {traffic.Now - stopped} ms later");
            await traffic.AcknowledgedMoreAsync(200);
        }

        output.WriteLine($"rolling restart of {Silos} silos took {traffic.Now - startedAt} ms");
        var (surfaced, _) = await FinishAsync(traffic, startedAt, test);

        Assert.Empty(surfaced);
    }

    /// <summary>Two owners: a silo paused (SIGSTOP) until the cluster declared it dead still holds its Spaces' activations
    /// and, once resumed (SIGCONT), decides what reached it meanwhile. Its Spaces recovered on the survivors, which fenced
    /// its journal stream before reading it, so none of those decisions can be acknowledged: its appends fail, the client
    /// retries them with their ids on the new owners, and nothing acknowledged is lost.</summary>
    [Fact]
    public async Task A_silo_paused_until_declared_dead_acknowledges_nothing_after_its_Spaces_moved_and_nothing_is_lost()
    {
        var test = Stopwatch.StartNew();
        var (cluster, traffic) = await UnderLoadAsync("stop3");
        await using var _ = cluster;

        var (victim, spaces) = await BusiestSiloAsync(cluster, traffic);
        var address = await cluster.AddressOfAsync(victim);
        var pausedAt = traffic.Now;
        await victim.PauseAsync();

        // Declared dead by the survivors (a silent silo: ProbeTimeout × MissedProbesLimit), then its Spaces recover on
        // them, which fences its stream, and the new owners write.
        var declaredDead = await UntilAsync(traffic, async () => (await Answer(() => cluster.HostsAsync(onlyActive: true)))?.ContainsKey(address) == false) - pausedAt;
        var served = await Task.WhenAll(spaces.Select(space =>
            Task.Run(() => UntilAsync(traffic, async () => await Answer(() => cluster.Client.GetGrain<ISpaceGrain>(space).GetBalanceAsync()) is not null))));
        await traffic.AcknowledgedMoreAsync(200);
        var resumedAt = traffic.Now;
        await victim.ResumeAsync();

        // The stale owner runs again: what reached it while it was paused is decided on its stale activations, and the
        // traffic goes on around it until it has learned that it is dead and stopped (or for a while, if it has not).
        await traffic.AcknowledgedMoreAsync(300);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!victim.HasExited && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        output.WriteLine($"SIGSTOP of silo {victim.SiloPort}, home of {spaces.Count} of {traffic.Spaces.Count} Spaces; declared dead {declaredDead} ms later; " +
            $"its Spaces served again {served.Min() - pausedAt}–{served.Max() - pausedAt} ms after the pause; resumed at {resumedAt - pausedAt} ms; " +
            $"{(victim.HasExited ? "it stopped itself" : "still running")} {traffic.Now - resumedAt} ms after it resumed");
        output.WriteLine($"its journal: {(victim.Output.Contains("was fenced", StringComparison.Ordinal) ? "an append met the fence" : "no append met the fence")}");
        var (surfaced, retried) = await FinishAsync(traffic, pausedAt, test);

        // Its stream is fenced: every segment sealed, and a sealed fence segment after the last, so the stale writer can
        // append nowhere.
        var container = new BlobServiceClient(azurite.Azurite.ConnectionString).GetBlobContainerClient(new JournalOptions().Container);
        var segments = new List<BlobItem>();
        await foreach (var blob in container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, JournalLifecycle.StreamName(cluster.ServiceId, address) + "/", CancellationToken.None))
        {
            segments.Add(blob);
        }

        Assert.True(segments.Count >= 2, $"segments of the paused silo's stream: {segments.Count}");
        Assert.All(segments, segment => Assert.True(segment.Properties.IsSealed == true, $"{segment.Name} is not sealed"));
        Assert.Contains("quotafence", segments.OrderBy(s => s.Name, StringComparer.Ordinal).Last().Metadata.Keys);
        Assert.Equal(surfaced.Count, retried);
    }

    /// <summary>A cluster of <see cref="Silos"/> processes, its Spaces created, <see cref="Workers"/> workers on them and a
    /// first 300 operations acknowledged.</summary>
    private async Task<(SiloCluster Cluster, QuotaTraffic Traffic)> UnderLoadAsync(string name)
    {
        var cluster = await SiloCluster.StartAsync(azurite.Azurite.ConnectionString, QuotaClusterFixture.NewId(name), Silos);
        try
        {
            var traffic = new QuotaTraffic(cluster, name[0] + Guid.NewGuid().ToString("N")[..6]);
            await traffic.SetupAsync();
            traffic.Start(Workers);
            await traffic.AcknowledgedMoreAsync(300);
            return (cluster, traffic);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the traffic, retries each operation whose error a caller saw, audits, and reports: the errors the
    /// callers saw and how many were retried.</summary>
    private async Task<(List<QuotaTraffic.Surfaced> Surfaced, int Retried)> FinishAsync(QuotaTraffic traffic, long faultAt, Stopwatch test)
    {
        await traffic.StopAsync();
        var surfaced = traffic.SurfacedErrors.ToList();
        var (retried, landed) = await traffic.ResolveUnknownAsync();
        var audit = await traffic.AuditAsync();
        output.WriteLine($"{surfaced.Count} errors surfaced to callers ({landed} of them had landed: replayed on retry); audit: {audit}; test took {test.Elapsed.TotalSeconds:F1} s");
        foreach (var error in surfaced.OrderBy(e => e.At))
        {
            output.WriteLine($"  {error.At - faultAt,6} ms after the fault: {error.Kind} {error.OperationId}: {error.Type}: {error.Message}");
        }

        return (surfaced, retried);
    }

    /// <summary>The engine's grain activations on every silo, each grain active on one silo only (asserted): the renewal
    /// clock, renewal slots, Spaces and users are one per cluster.</summary>
    private static async Task<DetailedGrainStatistic[]> OnePerClusterAsync(SiloCluster cluster)
    {
        var activations = (await cluster.Management.GetDetailedGrainStatistics())
            .Where(a => a.GrainType.Contains("QuotaGrains", StringComparison.Ordinal))
            .ToArray();
        var twice = activations.GroupBy(a => a.GrainId).Where(g => g.Count() > 1).Select(g => $"{g.Key} on {string.Join(", ", g.Select(a => a.SiloAddress))}").ToList();
        Assert.True(twice.Count == 0, $"active on more than one silo: {string.Join("; ", twice)}");
        return activations;
    }

    /// <summary>The silo that is home to the most Spaces now, and those Spaces (at least one).</summary>
    private static async Task<(SiloProcess Silo, List<string> Spaces)> BusiestSiloAsync(SiloCluster cluster, QuotaTraffic traffic)
    {
        var homes = await Task.WhenAll(traffic.Spaces.Select(async s => (s.Space, Silo: await cluster.WhereAsync(cluster.Client.GetGrain<ISpaceGrain>(s.Space)))));
        var busiest = homes.Where(h => h.Silo is not null).GroupBy(h => h.Silo!).MaxBy(g => g.Count());
        Assert.NotNull(busiest);
        return (busiest.Key, busiest.Select(h => h.Space).ToList());
    }

    /// <summary>When (<paramref name="traffic"/>'s <see cref="QuotaTraffic.Now"/>) <paramref name="condition"/> first held, asked every 50 ms for at
    /// most <see cref="SiloCluster.Patience"/>.</summary>
    private static async Task<long> UntilAsync(QuotaTraffic traffic, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + SiloCluster.Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(50);
        }

        return traffic.Now;
    }

    /// <summary>The answer of <paramref name="call"/> within 2 s, or default if it failed or took longer (the cluster is
    /// changing; the caller asks again).</summary>
    private static async Task<T?> Answer<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().WaitAsync(TimeSpan.FromSeconds(2));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return default;
        }
    }
}
