using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Tests.Cluster;
using Xunit.Abstractions;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// The audit's crash, in its shape: a silo process on Azurite grows its journal segment to 2 MB of records
/// that no snapshot covers, over 70 Spaces, and is killed with SIGKILL; a new silo process gets a burst of first calls
/// on every Space at once. Recovery converges: every Space is served, every acknowledged commit is there, and the
/// stream is read about once for all of them, not once per Space.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed partial class RecoveryStormTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Spaces = 70;
    private const long TailBytes = 2L * 1024 * 1024;

    [Fact]
    public async Task A_burst_of_first_calls_on_every_Space_after_a_crash_converges_and_reads_the_stream_about_once()
    {
        var serviceId = QuotaClusterFixture.NewId("storm");
        var spaces = Enumerable.Range(0, Spaces).Select(i => $"{serviceId}-s{i:D2}").ToArray();
        var committed = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        long tail;
        var clock = Stopwatch.StartNew();

        // Snapshots made rare: every record written after a Space's first snapshot stays in the journal's tail.
        var rare = new Dictionary<string, string>
        {
            ["Quota:Journal:SnapshotEveryEvents"] = "100000000",
            ["Quota:Journal:SnapshotInterval"] = "01:00:00",
        };
        await using (var first = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, rare))
        {
            output.WriteLine($"first silo ready after {clock.Elapsed.TotalSeconds:F1} s");
            using var client = await first.ConnectClientAsync(serviceId);
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            await Task.WhenAll(spaces.Select(async space =>
                Assert.True((await grains.GetGrain<ISpaceGrain>(space).CreateAsync(new CreateSpaceRequest("create", $"{space}-u", PlanTier.Enterprise, CustomAllowance: 1_000_000_000))).Succeeded)));

            output.WriteLine($"created after {clock.Elapsed.TotalSeconds:F1} s");
            using var stop = new CancellationTokenSource();
            var traffic = Enumerable.Range(0, 48).Select(worker => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var space = spaces[(worker * 7 + i) % Spaces];
                    var user = grains.GetGrain<IUserGrain>($"{space}-u");
                    try
                    {
                        var hold = await user.ReserveAsync(space, new ReserveRequest($"w{worker}-{i}", new GenerationSpec("recolor"), 1 + (i % 3)));
                        var commit = await user.CommitAsync(space, new SettleRequest($"w{worker}-{i}-c", hold.HoldId!));
                        committed.AddOrUpdate(space, commit.CommittedCredits, (_, sum) => sum + commit.CommittedCredits);
                    }
                    catch (Exception) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                }
            })).ToList();

            while ((tail = await JournalBytesAsync(serviceId)) < TailBytes)
            {
                await Task.Delay(200);
            }

            output.WriteLine($"tail grown after {clock.Elapsed.TotalSeconds:F1} s");
            await first.KillAsync();
            stop.Cancel();
            await Task.WhenAll(traffic);
            output.WriteLine($"killed after {clock.Elapsed.TotalSeconds:F1} s");
        }

        var started = Stopwatch.StartNew();
        await using var second = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId);
        var ready = started.Elapsed;
        using var client2 = await second.ConnectClientAsync(serviceId);
        var grains2 = client2.Services.GetRequiredService<IGrainFactory>();

        // Every Space at once, each retried until it answers (a failed first call is allowed; never answering is not).
        var failures = new ConcurrentBag<string>();
        var balances = await Task.WhenAll(spaces.Select(async space =>
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return (space, (await grains2.GetGrain<ISpaceGrain>(space).GetBalanceAsync())!, started.Elapsed);
                }
                catch (Exception e) when (attempt < 20 && e is QuotaUnavailableException or OrleansException or TimeoutException)
                {
                    failures.Add(e.GetType().Name);
                    await Task.Delay(250);
                }
            }
        }));
        var served = started.Elapsed;
        var reserves = await Task.WhenAll(spaces.Select(space =>
            grains2.GetGrain<IUserGrain>($"{space}-u").ReserveAsync(space, new ReserveRequest("after-crash", new GenerationSpec("recolor")))));

        var reads = ReaderLineRegex().Matches(second.Output).Select(m => (Bytes: long.Parse(m.Groups["bytes"].Value), Requests: int.Parse(m.Groups["requests"].Value))).ToList();
        output.WriteLine(
            $"tail {tail:N0} B over {Spaces} Spaces; new silo ready after {ready.TotalSeconds:F1} s, every Space served after {served.TotalSeconds:F1} s " +
            $"(slowest first answer {balances.Max(b => b.Item3).TotalSeconds:F1} s); {failures.Count} failed first calls ({string.Join(", ", failures.Distinct())}); " +
            $"journal read {reads.Sum(r => r.Bytes):N0} B in {reads.Sum(r => r.Requests)} storage requests over {reads.Count} read(s)");

        foreach (var (space, balance, _) in balances)
        {
            Assert.True(balance.Used >= committed.GetValueOrDefault(space), $"{space}: used {balance.Used} < acknowledged {committed.GetValueOrDefault(space)}");
            Assert.True(balance.Used + balance.Held <= balance.Allowance);
        }

        Assert.All(reserves, r => Assert.True(r.Succeeded, r.Rejection?.ToString()));
        Assert.NotEmpty(reads);
        Assert.InRange(reads.Sum(r => r.Bytes), tail / 2, 2 * tail);
    }

    private async Task<long> JournalBytesAsync(string serviceId)
    {
        var container = new BlobServiceClient(azurite.Azurite.ConnectionString).GetBlobContainerClient("quota-journal");
        var bytes = 0L;
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, serviceId + "/", CancellationToken.None))
        {
            bytes += blob.Properties.ContentLength ?? 0;
        }

        return bytes;
    }

    [GeneratedRegex(@"Journal reader: stream \S+ read for \d+ recovering Space\(s\): (?<bytes>\d+) bytes in (?<requests>\d+) storage requests")]
    private static partial Regex ReaderLineRegex();
}
