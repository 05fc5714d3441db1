using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using QuotaGrains.Client;
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
        var (crossed, quiet) = (QuotaClusterFixture.NewId("crossed"), QuotaClusterFixture.NewId("quiet"));
        var owner = QuotaClusterFixture.NewId("owner");
        void Webhooks(WebhookOptions w)
        {
            w.Endpoints = [new WebhookEndpointOptions { Name = "ops", Url = receiver.Url(path), Secret = Secret }];
            w.RetrySchedule = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)];
        }

        // Retention would wake every Space of the dead stream at its next sweep: not within this test, so that only the
        // notification recovery can deliver.
        static void NoRetention(JournalOptions o) => o.RetentionSweepInterval = TimeSpan.FromHours(1);

        var dropped = new DroppedHandover();
        var first = await AzureClusters.StartAsync(azurite.Azurite, serviceId, TimeProvider.System, NoRetention, configure: q =>
        {
            q.ConfigureWebhooks(Webhooks);
            q.Services.AddSingleton<INotificationHandover>(dropped);
        });
        try
        {
            var quota = first.Quota();
            foreach (var space in new[] { crossed, quiet })
            {
                Assert.True((await quota.CreateSpaceAsync(space, new CreateSpaceRequest($"create-{space}", owner, PlanTier.Enterprise, CustomAllowance: 100))).Succeeded);
            }

            // Both journal records in the same stream; only one carries a notification-bearing event (50 % crossed).
            await SpendAsync(quota, owner, quiet, 40);
            await SpendAsync(quota, owner, crossed, 50);

            // The crossing is durable (the commit was acknowledged) and its hand-over was offered, and never taken.
            Assert.Equal(crossed, await dropped.Offered.WaitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            // No deactivation, no final snapshot.
            await first.KillSiloAsync(first.Silos[0]);
            await first.DisposeAsync();
        }

        Assert.Empty(receiver.At(path));
        var second = await AzureClusters.StartAsync(azurite.Azurite, serviceId, TimeProvider.System, NoRetention, configure: q => q.ConfigureWebhooks(Webhooks));
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

    private static async Task SpendAsync(IQuotaClient quota, string user, string spaceId, int credits)
    {
        await using var hold = await quota.ReserveAsync(user, spaceId, new GenerationSpec("ai-shadows"), credits);
        Assert.True(hold.Succeeded, hold.Rejection?.ToString());
        Assert.True((await hold.CommitAsync()).Succeeded);
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
