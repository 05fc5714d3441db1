using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Notifications;

/// <summary>The default (Svix) retry schedule, on the shared cluster's fake clock: at once, then 5 s, 5 min and 30 min
/// after each failed attempt; each next attempt is due exactly then, and happens when the clock gets there.</summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class RetryScheduleTests(QuotaClusterFixture fixture)
{
    [Fact]
    public async Task Failed_attempts_are_retried_on_the_default_schedule_by_the_injected_clock()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var path = QuotaClusterFixture.NewId("svix");
        receiver.Answer(path, n => n <= 3 ? 500 : 200);
        var owner = QuotaClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, owner, 100);
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, receiver.Url(path)));
        Assert.True(set.Succeeded, set.Rejection?.ToString());

        await fixture.SpendAsync(owner, spaceId, ClusterTestExtensions.Shadows, 50);

        var schedule = WebhookOptions.DefaultRetrySchedule;
        Assert.Equal([TimeSpan.Zero, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30)], schedule.Take(4).ToArray());
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            // The attempt happens at the instant the schedule says, not before: the clock stands still until it is due.
            await receiver.WaitAsync(path, r => r.Count >= attempt);
            var delivery = await DeliveryAsync(spaceId, d => d.Attempts == attempt && (attempt == 4 || d.NextAttemptAt is not null));
            Assert.Equal(fixture.Time.GetUtcNow(), delivery.LastAttemptAt);
            if (attempt == 4)
            {
                Assert.Equal((DeliveryStatus.Delivered, (int?)200, (DateTimeOffset?)null), (delivery.Status, delivery.LastStatusCode, delivery.NextAttemptAt));
                break;
            }

            Assert.Equal((DeliveryStatus.Pending, (int?)500), (delivery.Status, delivery.LastStatusCode));
            Assert.Equal(fixture.Time.GetUtcNow() + schedule[attempt], delivery.NextAttemptAt);
            fixture.Time.Advance(schedule[attempt] - TimeSpan.FromMilliseconds(1));
            Assert.Equal(attempt, (await DeliveryAsync(spaceId, _ => true)).Attempts);
            fixture.Time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.Equal(4, receiver.At(path).Count);
        Assert.Single(receiver.At(path).Select(r => r.Id).Distinct());
    }

    private async Task<EndpointDelivery> DeliveryAsync(string spaceId, Func<EndpointDelivery, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var views = await fixture.Quota.GetNotificationsAsync(spaceId);
            if (views.Count == 1 && views[0].Deliveries.Count == 1 && done(views[0].Deliveries[0]))
            {
                return views[0].Deliveries[0];
            }

            Assert.True(DateTime.UtcNow < deadline, $"Space {spaceId}: {string.Join("; ", views.SelectMany(v => v.Deliveries))}");
            await Task.Delay(20);
        }
    }
}
