using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using QuotaGrains.Client;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Notifications;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;
using QuotaGrains.Tests.Notifications;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// A notification whose event is durable but whose hand-over to the outbox a crash interrupted is delivered after a
/// restart with nothing calling its Space: the restarted silo sweeps the dead stream and wakes exactly the Spaces with
/// notification-bearing events there (<see cref="NotificationRecovery"/>). Azure storage on Azurite, in-process silos;
/// the first silo's hand-over is dropped (a test double), so the crash always lands between the two.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class NotificationRecoveryTests(AzuriteFixture azurite)
{
    private static readonly string Secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(3, 32).Select(i => (byte)i).ToArray());

    [Fact]
    public async Task A_crossing_whose_hand_over_a_kill_interrupted_is_delivered_after_restart_with_nothing_calling_its_Space()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var path = QuotaClusterFixture.NewId("hook");
        var serviceId = QuotaClusterFixture.NewId("notify-rec");
        var webhooks = WebhooksTo(receiver, path);
        var (crossed, quiet) = await CrossAndKillBeforeTheHandOverAsync(serviceId, webhooks);
        Assert.Empty(receiver.At(path));
        var second = await AzureClusters.StartAsync(azurite.Azurite, serviceId, TimeProvider.System, NoRetention, configure: q => q.ConfigureWebhooks(webhooks));
        try
        {
            // Nothing calls either Space.
            var delivered = await receiver.WaitAsync(path, r => r.Any(x => x.Status == 200), within: TimeSpan.FromSeconds(45));
            var view = Assert.Single(await second.Client.GetGrain<ISpaceWebhooksGrain>(crossed).GetNotificationsAsync());
            Assert.Equal((NotificationKind.ThresholdCrossed, (int?)50, 50L), (view.Kind, view.Notification.Percent, view.Notification.Used));
            Assert.Equal(SpaceNotification.IdOf(crossed, view.Notification.Sequence), view.Id);
            Assert.Equal([view.Id], delivered.Select(x => x.Id).Distinct());

            // Exactly the Spaces with notification-bearing events were woken: the one that crossed, not the quiet one.
            var active = (await second.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics()).Select(s => s.GrainId).ToHashSet();
            Assert.Contains(second.Client.GetGrain<ISpaceGrain>(crossed).GetGrainId(), active);
            Assert.DoesNotContain(second.Client.GetGrain<ISpaceGrain>(quiet).GetGrainId(), active);
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    /// <summary>Retention deletes a dead stream only once each of its Spaces has handed its notifications over: while a
    /// Space's outbox refuses them, retention's sweep waits and the stream's records stay; once the outbox takes them,
    /// the sweep releases the stream.</summary>
    [Fact]
    public async Task Retention_keeps_a_dead_stream_until_its_Spaces_handed_their_notifications_over()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var path = QuotaClusterFixture.NewId("hook");
        var serviceId = QuotaClusterFixture.NewId("notify-ret");
        var webhooks = WebhooksTo(receiver, path);
        var (crossed, _) = await CrossAndKillBeforeTheHandOverAsync(serviceId, webhooks);

        var gate = new GatedHandover();
        var second = await AzureClusters.StartAsync(azurite.Azurite, serviceId, TimeProvider.System, NoRetention, configure: q =>
        {
            q.ConfigureWebhooks(webhooks);
            q.Services.AddSingleton<INotificationHandover>(sp => gate.Opening(new OutboxHandover(sp.GetRequiredService<IGrainFactory>())));
        });
        try
        {
            var services = second.Silos[0].ServiceProvider;
            var journal = services.GetRequiredService<SiloJournalWriter>();
            var prefix = JournalLifecycle.ServicePrefix(serviceId);
            var dead = Assert.Single((await journal.Store.ListSegmentsAsync(prefix, CancellationToken.None)).Select(s => s[..s.LastIndexOf('/')]).Distinct(), s => s != journal.Stream);
            async Task<int> RecordSegmentsAsync()
            {
                var count = 0;
                foreach (var segment in await journal.Store.ListSegmentsAsync(dead + "/", CancellationToken.None))
                {
                    count += (await journal.Store.ReadAsync(segment, 0, 1, CancellationToken.None)).Length;
                }

                return count;
            }

            // The Space (woken by the notification recovery, and by the sweep) offers its crossing and is refused, again
            // after 1 s: retention has not released the stream meanwhile.
            var sweep = services.GetRequiredService<JournalRetention>().SweepAsync(CancellationToken.None);
            await gate.RefusedAsync(times: 2, within: TimeSpan.FromSeconds(30));
            Assert.False(sweep.IsCompleted);
            Assert.Equal(1, await RecordSegmentsAsync());
            Assert.Empty(receiver.At(path));

            // The outbox takes it: the sweep snapshots the Space and deletes the stream's records (its fence stays).
            gate.Open();
            Assert.Equal(1, (await sweep.WaitAsync(TimeSpan.FromSeconds(60))).OrphanStreams);
            Assert.Equal(0, await RecordSegmentsAsync());
            var delivered = await receiver.WaitAsync(path, r => r.Any(x => x.Status == 200), within: TimeSpan.FromSeconds(45));
            Assert.Equal([SpaceNotification.IdOf(crossed, Assert.Single(await second.Client.GetGrain<ISpaceWebhooksGrain>(crossed).GetNotificationsAsync()).Notification.Sequence)], delivered.Select(x => x.Id).Distinct());
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    // Retention would wake every Space of the dead stream at its next sweep: not within these tests, so that only the
    // notification recovery (or a sweep the test runs) can deliver.
    private static void NoRetention(JournalOptions o) => o.RetentionSweepInterval = TimeSpan.FromHours(1);

    private static Action<WebhookOptions> WebhooksTo(WebhookReceiver receiver, string path) => w =>
    {
        w.Endpoints = [new WebhookEndpointOptions { Name = "ops", Url = receiver.Url(path), Secret = Secret }];
        w.RetrySchedule = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];
    };

    /// <summary>A first silo whose hand-over is dropped: Space "crossed" crosses 50 % (durable, its hand-over offered and
    /// never taken), Space "quiet" spends 40 % (no notification-bearing event), both in the silo's journal stream; then
    /// the silo is killed (no deactivation, no final snapshot).</summary>
    private async Task<(string Crossed, string Quiet)> CrossAndKillBeforeTheHandOverAsync(string serviceId, Action<WebhookOptions> webhooks)
    {
        var (crossed, quiet) = (QuotaClusterFixture.NewId("crossed"), QuotaClusterFixture.NewId("quiet"));
        var owner = QuotaClusterFixture.NewId("owner");
        var dropped = new DroppedHandover();
        var first = await AzureClusters.StartAsync(azurite.Azurite, serviceId, TimeProvider.System, NoRetention, configure: q =>
        {
            q.ConfigureWebhooks(webhooks);
            q.Services.AddSingleton<INotificationHandover>(dropped);
        });
        try
        {
            var quota = first.Quota();
            foreach (var space in new[] { crossed, quiet })
            {
                Assert.True((await quota.CreateSpaceAsync(space, new CreateSpaceRequest($"create-{space}", owner, PlanTier.Enterprise, CustomAllowance: 100))).Succeeded);
            }

            await SpendAsync(quota, owner, quiet, 40);
            await SpendAsync(quota, owner, crossed, 50);
            Assert.Equal(crossed, await dropped.Offered.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await first.KillSiloAsync(first.Silos[0]);
            await first.DisposeAsync();
        }

        return (crossed, quiet);
    }

    private static async Task SpendAsync(IQuotaClient quota, string user, string spaceId, int credits)
    {
        await using var hold = await quota.ReserveAsync(user, spaceId, new GenerationSpec("ai-shadows"), credits);
        Assert.True(hold.Succeeded, hold.Rejection?.ToString());
        Assert.True((await hold.CommitAsync()).Succeeded);
    }

    /// <summary>Refuses every hand-over until <see cref="Open"/>, then passes them to the outbox.</summary>
    private sealed class GatedHandover : INotificationHandover
    {
        private readonly SemaphoreSlim _refused = new(0);
        private INotificationHandover? _inner;
        private volatile bool _open;

        public INotificationHandover Opening(INotificationHandover inner)
        {
            _inner = inner;
            return this;
        }

        public void Open() => _open = true;

        public async Task RefusedAsync(int times, TimeSpan within)
        {
            for (var i = 0; i < times; i++)
            {
                Assert.True(await _refused.WaitAsync(within), $"the hand-over was refused only {i} time(s)");
            }
        }

        public Task HandOverAsync(string spaceId, IReadOnlyList<SpaceNotification> notifications)
        {
            if (_open)
            {
                return _inner!.HandOverAsync(spaceId, notifications);
            }

            _refused.Release();
            return Task.FromException(new IOException("The outbox is unreachable (test)."));
        }
    }

    /// <summary>Takes nothing: the Space offers its notifications and waits for good (the silo is killed first).</summary>
    private sealed class DroppedHandover : INotificationHandover
    {
        private readonly TaskCompletionSource<string> _offered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The first Space that offered a notification.</summary>
        public Task<string> Offered => _offered.Task;

        public Task HandOverAsync(string spaceId, IReadOnlyList<SpaceNotification> notifications)
        {
            _offered.TrySetResult(spaceId);
            return new TaskCompletionSource().Task;
        }
    }
}
