using System.Diagnostics;
using Azure.Data.Tables;
using Xunit.Abstractions;
using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Tests.Cluster;
using QuotaGrains.Tests.Notifications;
using QuotaGrains.Tests.Storage;

namespace QuotaGrains.Tests.Faults;

/// <summary>
/// A silo process (Azure storage on Azurite) is killed with SIGKILL between a threshold crossing and its delivery; a
/// new silo process delivers it: exactly one notification id per crossing reaches the receiver (perhaps more than once,
/// never a second id). Space A is killed right after its commit is acknowledged (the hand-over to the outbox may or may
/// not have happened: recovery hands over again); Space B after its first attempt was refused (stored in the outbox,
/// not delivered).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class NotificationKillTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public async Task A_crossing_interrupted_by_kill_9_is_delivered_after_recovery_with_one_id()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var serviceId = QuotaClusterFixture.NewId("notify-kill");
        var path = QuotaClusterFixture.NewId("kill-hook");
        var killed = false;
        receiver.Answer(path, _ => Volatile.Read(ref killed) ? 200 : 503);
        var settings = new Dictionary<string, string>
        {
            ["Quota:Webhooks:Endpoints:0:Name"] = "ops",
            ["Quota:Webhooks:Endpoints:0:Url"] = receiver.Url(path),
            ["Quota:Webhooks:Endpoints:0:Secret"] = Secret,
            ["Quota:Webhooks:AttemptTimeout"] = "00:00:05",
        };

        // At once, then every second for a minute: a refused attempt before the kill does not use up the schedule.
        for (var i = 0; i < 40; i++)
        {
            settings[$"Quota:Webhooks:RetrySchedule:{i}"] = i == 0 ? "00:00:00" : "00:00:01";
        }

        var (a, b) = (QuotaClusterFixture.NewId("space-a"), QuotaClusterFixture.NewId("space-b"));
        var owner = QuotaClusterFixture.NewId("owner");
        bool attemptedBeforeKill;
        var first = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, settings);
        try
        {
            using var client = await first.ConnectClientAsync(serviceId);
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            foreach (var space in new[] { b, a })
            {
                Assert.True((await grains.GetGrain<ISpaceGrain>(space).CreateAsync(new CreateSpaceRequest($"create-{space}", owner, PlanTier.Enterprise, CustomAllowance: 100))).Succeeded);
            }

            // B crosses 50 % and its first attempt is refused: the notification is in B's outbox, not delivered.
            await SpendAsync(grains, owner, b, 50);
            await receiver.WaitAsync(path, r => r.Any(x => x.Body.Contains(b, StringComparison.Ordinal)));

            // A crosses 50 %, and the silo dies as soon as the commit is acknowledged.
            await SpendAsync(grains, owner, a, 50);
            await first.KillAsync();
            attemptedBeforeKill = receiver.Received.Any(x => x.Body.Contains(a, StringComparison.Ordinal));
            Volatile.Write(ref killed, true);
        }
        finally
        {
            await first.DisposeAsync();
        }

        var second = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, settings);
        try
        {
            using var client = await second.ConnectClientAsync(serviceId);
            var grains = client.Services.GetRequiredService<IGrainFactory>();

            // Any call recovers a Space, which hands over what its outbox may lack.
            foreach (var space in new[] { a, b })
            {
                Assert.Equal(50, (await grains.GetGrain<ISpaceGrain>(space).GetBalanceAsync())!.Used);
            }

            foreach (var space in new[] { a, b })
            {
                var delivered = await receiver.WaitAsync(path, r => r.Any(x => x.Status == 200 && x.Body.Contains(space, StringComparison.Ordinal)));
                var ids = delivered.Where(x => x.Body.Contains($"\"spaceId\":\"{space}\"", StringComparison.Ordinal)).Select(x => x.Id).Distinct().ToList();
                var views = await grains.GetGrain<ISpaceWebhooksGrain>(space).GetNotificationsAsync();
                var view = Assert.Single(views);
                Assert.Equal([view.Id], ids);
                Assert.Equal((NotificationKind.ThresholdCrossed, (int?)50), (view.Kind, view.Notification.Percent));
                Assert.Equal(SpaceNotification.IdOf(space, view.Notification.Sequence), view.Id);
            }
        }
        finally
        {
            await second.DisposeAsync();
        }

        // Whether A's outbox had already tried it (then it was handed over) or not (it may not have been): the
        // assertions hold either way.
        output.WriteLine($"space A attempted before the kill: {attemptedBeforeKill}");
    }

    /// <summary>
    /// The crash lands between the crossing and the hand-over for sure: Space A's outbox cannot activate in the first
    /// process (its Table row is made unreadable beforehand), so A's hand-over fails and is retried until the silo is
    /// killed. The row is then removed and a new silo process started; nothing calls A, and the receiver gets its one
    /// notification id: the new silo swept the dead silo's stream and woke A (<c>NotificationRecovery</c>).
    /// </summary>
    [Fact]
    public async Task A_crossing_never_handed_over_before_kill_9_is_delivered_after_restart_with_nothing_calling_its_Space()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var serviceId = QuotaClusterFixture.NewId("notify-rec");
        var path = QuotaClusterFixture.NewId("rec-hook");
        var settings = RecoverySettings(receiver, path);
        var (a, b) = (QuotaClusterFixture.NewId("space-a"), QuotaClusterFixture.NewId("space-b"));
        TableEntity unreadable;
        var first = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, settings);
        try
        {
            using var client = await first.ConnectClientAsync(serviceId);
            unreadable = await CrossWithAnUnreadableOutboxAsync(client.Services.GetRequiredService<IGrainFactory>(), receiver, path, a, b);
            await first.WaitForOutputAsync($"Space {a}: handing notifications after", TimeSpan.FromSeconds(60));
            await first.KillAsync();
        }
        finally
        {
            await first.DisposeAsync();
        }

        Assert.DoesNotContain(receiver.At(path), x => x.Body.Contains(a, StringComparison.Ordinal));
        await StateTable().DeleteEntityAsync(unreadable.PartitionKey, unreadable.RowKey);
        var second = await SiloProcess.StartAsync(azurite.Azurite.ConnectionString, serviceId, settings);
        try
        {
            // Nothing calls A.
            var ready = Stopwatch.StartNew();
            await receiver.WaitAsync(path, r => r.Any(x => x.Status == 200 && x.Body.Contains(a, StringComparison.Ordinal)), TimeSpan.FromSeconds(45));
            var after = ready.Elapsed;
            using var client = await second.ConnectClientAsync(serviceId);
            var id = await AssertOneIdDeliveredAsync(client.Services.GetRequiredService<IGrainFactory>(), receiver, path, a);
            output.WriteLine($"A's notification {id} delivered {after.TotalMilliseconds:F0} ms after the new silo was ready; its log:\n{second.Output}");
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    /// <summary>As above, in a cluster of three silo processes: the silo where A lives is killed, and a survivor
    /// delivers A's notification once the membership declares that silo dead and the sweep's delay passed, with nothing
    /// calling A.</summary>
    [Fact]
    public async Task A_crossing_never_handed_over_on_a_silo_killed_in_a_cluster_is_delivered_by_a_survivor()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var path = QuotaClusterFixture.NewId("rec-hook");
        var (a, b) = (QuotaClusterFixture.NewId("space-a"), QuotaClusterFixture.NewId("space-b"));
        await using var cluster = await SiloCluster.StartAsync(
            azurite.Azurite.ConnectionString, QuotaClusterFixture.NewId("notify-rec"), 3, settings: RecoverySettings(receiver, path));
        var unreadable = await CrossWithAnUnreadableOutboxAsync(cluster.Client, receiver, path, a, b);
        var host = await cluster.WhereAsync(cluster.Client.GetGrain<ISpaceGrain>(a)) ?? throw new InvalidOperationException("Space A is active nowhere.");
        await host.WaitForOutputAsync($"Space {a}: handing notifications after", TimeSpan.FromSeconds(60));
        await cluster.KillAsync(host);
        var killed = Stopwatch.StartNew();
        Assert.DoesNotContain(receiver.At(path), x => x.Body.Contains(a, StringComparison.Ordinal));
        await StateTable().DeleteEntityAsync(unreadable.PartitionKey, unreadable.RowKey);

        // Nothing calls A.
        await receiver.WaitAsync(path, r => r.Any(x => x.Status == 200 && x.Body.Contains(a, StringComparison.Ordinal)), TimeSpan.FromSeconds(60));
        var after = killed.Elapsed;
        var id = await AssertOneIdDeliveredAsync(cluster.Client, receiver, path, a);
        output.WriteLine($"A's notification {id} delivered {after.TotalMilliseconds:F0} ms after the kill.\n{cluster.Output}");

        // The survivors swept the dead stream only once its Spaces had had their turn (DeadSiloSweepDelay, 15 s).
        Assert.Contains("a silo was declared dead; its stream is swept in 00:00:15", cluster.Output, StringComparison.Ordinal);
        Assert.True(after > TimeSpan.FromSeconds(15), $"delivered {after} after the kill, before the sweep's delay");
    }

    /// <summary>Webhooks to <paramref name="path"/>, and retention that does not run within a test: it wakes every Space
    /// of a dead stream at its next sweep, so that only the notification recovery can deliver here.</summary>
    private static Dictionary<string, string> RecoverySettings(WebhookReceiver receiver, string path) => new()
    {
        ["Quota:Webhooks:Endpoints:0:Name"] = "ops",
        ["Quota:Webhooks:Endpoints:0:Url"] = receiver.Url(path),
        ["Quota:Webhooks:Endpoints:0:Secret"] = Secret,
        ["Quota:Webhooks:AttemptTimeout"] = "00:00:05",
        ["Quota:Journal:RetentionSweepInterval"] = "01:00:00",
    };

    /// <summary>Creates Spaces <paramref name="a"/> and <paramref name="b"/>; B crosses 50 % and is delivered, and its
    /// outbox row shows where A's goes: A's is put there first, unreadable, so that A's outbox cannot activate. Then A
    /// crosses 50 %: durable (acknowledged), and its hand-over fails until the row is removed. Returns that row.</summary>
    private async Task<TableEntity> CrossWithAnUnreadableOutboxAsync(IGrainFactory grains, WebhookReceiver receiver, string path, string a, string b)
    {
        var owner = QuotaClusterFixture.NewId("owner");
        foreach (var space in new[] { a, b })
        {
            Assert.True((await grains.GetGrain<ISpaceGrain>(space).CreateAsync(new CreateSpaceRequest($"create-{space}", owner, PlanTier.Enterprise, CustomAllowance: 100))).Succeeded);
        }

        await SpendAsync(grains, owner, b, 50);
        await receiver.WaitAsync(path, r => r.Any(x => x.Status == 200 && x.Body.Contains(b, StringComparison.Ordinal)));
        var table = StateTable();
        var template = Assert.Single(table.Query<TableEntity>(e => e.RowKey == $"outbox_{b}"));
        var unreadable = new TableEntity(template.PartitionKey.Replace(b, a, StringComparison.Ordinal), $"outbox_{a}");
        foreach (var (name, _) in template.Where(p => p.Value is byte[] or BinaryData))
        {
            unreadable[name] = new byte[] { 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0xFA };
        }

        await table.UpsertEntityAsync(unreadable, TableUpdateMode.Replace);
        await SpendAsync(grains, owner, a, 50);
        return unreadable;
    }

    /// <summary>The receiver got exactly one notification id of <paramref name="spaceId"/> (perhaps more than once): the
    /// 50 % crossing its outbox holds. Returns it.</summary>
    private static async Task<string> AssertOneIdDeliveredAsync(IGrainFactory grains, WebhookReceiver receiver, string path, string spaceId)
    {
        var ids = receiver.At(path).Where(x => x.Body.Contains($"\"spaceId\":\"{spaceId}\"", StringComparison.Ordinal)).Select(x => x.Id).Distinct().ToList();
        var view = Assert.Single(await grains.GetGrain<ISpaceWebhooksGrain>(spaceId).GetNotificationsAsync());
        Assert.Equal((NotificationKind.ThresholdCrossed, (int?)50), (view.Kind, view.Notification.Percent));
        Assert.Equal(SpaceNotification.IdOf(spaceId, view.Notification.Sequence), view.Id);
        Assert.Equal([view.Id], ids);
        return view.Id;
    }

    private TableClient StateTable() => new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient("QuotaState");

    private static async Task SpendAsync(IGrainFactory grains, string user, string spaceId, int credits)
    {
        var userGrain = grains.GetGrain<IUserGrain>(user);
        var hold = await userGrain.ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), new GenerationSpec("ai-shadows"), credits));
        Assert.True(hold.Succeeded, hold.Rejection?.ToString());
        Assert.True((await userGrain.CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), hold.HoldId!))).Succeeded);
    }
}
