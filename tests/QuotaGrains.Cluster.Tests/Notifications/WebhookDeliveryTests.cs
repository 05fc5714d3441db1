using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace QuotaGrains.Tests.Notifications;

/// <summary>Notifications delivered to a real HTTP receiver: exact payloads, Standard Webhooks signatures verified with
/// the endpoint's secret, retries on the schedule, timeouts that never slow a debit, one notification however many
/// debits cross a threshold together, endpoints only an Owner or Admin sets, each Space's endpoint only its own.</summary>
[Collection(WebhookClusterCollection.Name)]
public sealed class WebhookDeliveryTests(WebhookClusterFixture fixture)
{
    private WebhookReceiver Receiver => fixture.Receiver;

    [Fact]
    public async Task A_threshold_crossed_is_posted_with_the_exact_payload_and_a_signature_the_secret_verifies()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, 100);
        var path = WebhookClusterFixture.NewId("hook");
        var secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(100, 24).Select(i => (byte)i).ToArray());
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, Receiver.Url(path), secret, EndpointId: "mine"));
        Assert.True(set.Succeeded, set.Rejection?.ToString());
        Assert.Equal(("mine", secret), (set.EndpointId, set.Secret));

        await fixture.SpendAsync(owner, spaceId, 50);

        var received = Assert.Single(await Receiver.WaitAsync(path, r => r.Count >= 1));
        var balance = (await fixture.Quota.GetBalanceAsync(spaceId))!;
        var notification = Assert.Single(await fixture.Quota.GetNotificationsAsync(spaceId)).Notification;
        Assert.Equal((NotificationKind.ThresholdCrossed, 50), (notification.Kind, notification.Percent));
        var id = $"ntf_{spaceId}_{notification.Sequence}";
        Assert.Equal(id, notification.Id);
        Assert.Equal(
            "{" + $"\"id\":\"{id}\",\"type\":\"quota.threshold.crossed\",\"timestamp\":{Json(notification.At)},\"data\":{{"
                + $"\"spaceId\":\"{spaceId}\",\"sequence\":{notification.Sequence},\"cycleStart\":{Json(balance.CycleStart)},"
                + $"\"used\":50,\"allowance\":100,\"percent\":50,\"nextRenewal\":{Json(balance.NextRenewal)}}}" + "}",
            received.Body);

        // Standard Webhooks: the id is the notification's, the timestamp the attempt's; the signature verifies with the
        // endpoint's secret (and not with another), over exactly these bytes.
        Assert.Equal(id, received.Id);
        Assert.Equal("application/json; charset=utf-8", received.Headers["content-type"]);
        Verify(secret, received);
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => Verify(WebhookClusterFixture.GlobalSecret, received));
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => Verify(secret, received with { Body = received.Body.Replace("\"used\":50", "\"used\":49", StringComparison.Ordinal) }));

        // The global endpoint got the same notification, the same bytes, signed with its own secret.
        var global = Assert.Single(await Receiver.WaitAsync(WebhookClusterFixture.GlobalPath, r => r.Any(x => x.Id == id)), r => r.Id == id);
        Assert.Equal(received.Body, global.Body);
        Verify(WebhookClusterFixture.GlobalSecret, global);

        // Both deliveries are visible as delivered, each with one attempt in the log.
        var view = Assert.Single(await fixture.WaitForNotificationsAsync(spaceId, v => v.Count == 1 && v[0].Deliveries.All(d => d.Status == DeliveryStatus.Delivered)));
        Assert.Equal("Usage reached 50% (50 of 100 credits).", view.Summary);
        Assert.Equal(["global:ops", "mine"], view.Deliveries.Select(d => d.EndpointId).ToArray());
        Assert.All(view.Deliveries, d => Assert.Equal((1, (int?)200, (string?)null), (d.Attempts, d.LastStatusCode, d.LastError)));
        var log = await fixture.Quota.GetWebhookDeliveriesAsync(spaceId);
        Assert.Equal(["global:ops", "mine"], log.Select(a => a.EndpointId).Order(StringComparer.Ordinal).ToArray());
        Assert.All(log, a => Assert.Equal((id, 1, (int?)200, true), (a.NotificationId, a.Attempt, a.StatusCode, a.Succeeded)));
    }

    [Fact]
    public async Task A_receiver_that_fails_twice_gets_the_same_notification_again_until_it_accepts()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, 100);
        var path = WebhookClusterFixture.NewId("flaky");
        Receiver.Answer(path, n => n <= 2 ? 503 : 204);
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, Receiver.Url(path)));
        Assert.StartsWith("whsec_", set.Secret, StringComparison.Ordinal);

        await fixture.SpendAsync(owner, spaceId, 50);

        var received = await Receiver.WaitAsync(path, r => r.Count >= 3);
        var view = Assert.Single(await fixture.WaitForNotificationsAsync(spaceId, v => v.Count == 1 && v[0].Deliveries.All(d => d.Status == DeliveryStatus.Delivered)));
        Assert.Equal([503, 503, 204], received.Select(r => r.Status ?? 0).ToArray());
        Assert.Single(received.Select(r => r.Id).Distinct());
        Assert.Single(received.Select(r => r.Body).Distinct());
        Assert.All(received, r => Verify(set.Secret!, r));

        // The waits between attempts follow the schedule: 100 ms, then 200 ms (at least; never sooner).
        Assert.True(received[1].At - received[0].At >= WebhookClusterFixture.Schedule[1], $"{received[1].At - received[0].At}");
        Assert.True(received[2].At - received[1].At >= WebhookClusterFixture.Schedule[2], $"{received[2].At - received[1].At}");

        var mine = view.Deliveries.Single(d => d.EndpointId == set.EndpointId);
        Assert.Equal((DeliveryStatus.Delivered, 3, (int?)204), (mine.Status, mine.Attempts, mine.LastStatusCode));
        var log = (await fixture.Quota.GetWebhookDeliveriesAsync(spaceId)).Where(a => a.EndpointId == set.EndpointId).Reverse().ToList();
        Assert.Equal([(1, (int?)503), (2, 503), (3, 204)], log.Select(a => (a.Attempt, a.StatusCode)).ToArray());
    }

    [Fact]
    public async Task A_receiver_that_always_fails_is_given_up_after_the_schedule_and_shown_failed()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, 100);
        var path = WebhookClusterFixture.NewId("down");
        Receiver.Answer(path, _ => 500);
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, Receiver.Url(path)));

        await fixture.SpendAsync(owner, spaceId, 50);

        var view = Assert.Single(await fixture.WaitForNotificationsAsync(spaceId, v => v.Count == 1 && v[0].Deliveries.All(d => d.Status != DeliveryStatus.Pending)));
        var mine = view.Deliveries.Single(d => d.EndpointId == set.EndpointId);
        Assert.Equal((DeliveryStatus.Failed, WebhookClusterFixture.Schedule.Length, (int?)500, (DateTimeOffset?)null), (mine.Status, mine.Attempts, mine.LastStatusCode, mine.NextAttemptAt));
        Assert.Equal(WebhookClusterFixture.Schedule.Length, Receiver.At(path).Count);
        Assert.Equal(DeliveryStatus.Delivered, view.Deliveries.Single(d => d.EndpointId == "global:ops").Status);
    }

    [Fact]
    public async Task A_receiver_that_hangs_times_out_and_never_slows_a_debit()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, 100);
        var path = WebhookClusterFixture.NewId("hang");
        var hanging = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Receiver.Answer(path, async (_, aborted) =>
        {
            hanging.TrySetResult();
            await released.Task.WaitAsync(aborted);
            return 200;
        });
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, Receiver.Url(path)));

        await fixture.SpendAsync(owner, spaceId, 50);
        await hanging.Task.WaitAsync(TimeSpan.FromSeconds(60));

        // While the receiver holds the attempt, debits go on: reserve, commit, even one that crosses the next threshold.
        var hold = await fixture.Quota.ReserveAsync(owner, spaceId, new GenerationSpec("ai-shadows"), 30);
        Assert.True(hold.Succeeded);
        Assert.True((await hold.CommitAsync()).Succeeded);
        Assert.Empty(Receiver.At(path));   // nothing answered yet: the first attempt is still held

        try
        {
            var view = await fixture.WaitForNotificationsAsync(spaceId, v => v.Count == 2 && v.All(n => n.Deliveries.Single(d => d.EndpointId == set.EndpointId).Attempts >= 1));
            var first = view.Single(n => n.Notification.Percent == 50).Deliveries.Single(d => d.EndpointId == set.EndpointId);
            Assert.Equal((int?)null, first.LastStatusCode);
            Assert.Equal($"timed out after {WebhookClusterFixture.AttemptTimeout.TotalSeconds:0} s", first.LastError);
            var attempt = (await fixture.Quota.GetWebhookDeliveriesAsync(spaceId)).Last(a => a.EndpointId == set.EndpointId);
            Assert.Equal((1, (int?)null), (attempt.Attempt, attempt.StatusCode));
            // The timeout's timer runs on the millisecond tick count, the latency on the Stopwatch: it can fire up to ~1 ms
            // before the Stopwatch says 2 s (seen: 1.9994 s).
            Assert.InRange(attempt.Latency, WebhookClusterFixture.AttemptTimeout - TimeSpan.FromMilliseconds(20), WebhookClusterFixture.AttemptTimeout + TimeSpan.FromSeconds(30));
        }
        finally
        {
            released.TrySetResult();
        }
    }

    [Fact]
    public async Task Concurrent_debits_that_cross_a_threshold_together_give_one_notification()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, 1_000);
        var path = WebhookClusterFixture.NewId("crowd");
        await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, Receiver.Url(path)));

        // 256 debits of 2 credits in flight at once: 512 used, 50 % crossed by exactly one of them.
        await Task.WhenAll(Enumerable.Range(0, 256).Select(_ => Task.Run(() => fixture.SpendAsync(owner, spaceId, 2))));

        Assert.Equal(512, (await fixture.Quota.GetBalanceAsync(spaceId))!.Used);
        var views = await fixture.WaitForNotificationsAsync(spaceId, v => v.Count >= 1 && v.All(n => n.Deliveries.All(d => d.Status == DeliveryStatus.Delivered)));
        var view = Assert.Single(views);
        Assert.Equal((NotificationKind.ThresholdCrossed, (int?)50), (view.Kind, view.Notification.Percent));
        Assert.Equal([view.Id], Receiver.At(path).Select(r => r.Id).Distinct().ToArray());
        Assert.Single(Receiver.Received, r => r.Path == WebhookClusterFixture.GlobalPath && r.Body.Contains($"\"spaceId\":\"{spaceId}\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_an_owner_or_admin_sets_an_endpoint_and_bad_ones_are_refused()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var admin = WebhookClusterFixture.NewId("admin");
        var member = WebhookClusterFixture.NewId("member");
        var spaceId = await fixture.CreateSpaceAsync(owner, 100);
        Assert.True((await fixture.Quota.AddMemberAsync(spaceId, new AddMemberRequest(WebhookClusterFixture.NewId("op"), owner, admin, SpaceRole.Admin))).Succeeded);
        Assert.True((await fixture.Quota.AddMemberAsync(spaceId, new AddMemberRequest(WebhookClusterFixture.NewId("op"), owner, member, SpaceRole.Member))).Succeeded);
        var url = Receiver.Url(WebhookClusterFixture.NewId("admin-hook"));

        Assert.Equal(RejectionCode.NotAuthorized, (await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(member, url))).Rejection?.Code);
        Assert.Equal(RejectionCode.NotAMember, (await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest("stranger", url))).Rejection?.Code);
        Assert.Equal(RejectionCode.SpaceNotFound, (await fixture.Quota.SetWebhookEndpointAsync(WebhookClusterFixture.NewId("nowhere"), new SetWebhookEndpointRequest(owner, url))).Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, (await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(admin, "ftp://example.test/hook"))).Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, (await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(admin, url, "not-a-secret"))).Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, (await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(admin, url, Kinds: ["quota.everything"]))).Rejection?.Code);
        Assert.Empty(await fixture.Quota.GetWebhookEndpointsAsync(spaceId));

        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(admin, url, Kinds: [NotificationKinds.PoolExhausted]));
        Assert.True(set.Succeeded, set.Rejection?.ToString());
        Assert.Matches("^whsec_[A-Za-z0-9+/]{43}=$", set.Secret);
        var endpoint = Assert.Single(await fixture.Quota.GetWebhookEndpointsAsync(spaceId));
        Assert.Equal((set.EndpointId, url), (endpoint.EndpointId, endpoint.Url));
        Assert.Equal([NotificationKinds.PoolExhausted], endpoint.Kinds);

        Assert.Equal(RejectionCode.NotAuthorized, (await fixture.Quota.RemoveWebhookEndpointAsync(spaceId, new RemoveWebhookEndpointRequest(member, set.EndpointId!))).Rejection?.Code);
        Assert.True((await fixture.Quota.RemoveWebhookEndpointAsync(spaceId, new RemoveWebhookEndpointRequest(owner, set.EndpointId!))).Succeeded);
        Assert.Empty(await fixture.Quota.GetWebhookEndpointsAsync(spaceId));
    }

    [Fact]
    public async Task A_space_endpoint_gets_only_its_own_spaces_notifications_of_the_kinds_it_asked_for()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var mine = await fixture.CreateSpaceAsync(owner, 10);
        var other = await fixture.CreateSpaceAsync(owner, 10);
        var path = WebhookClusterFixture.NewId("only-mine");
        await fixture.Quota.SetWebhookEndpointAsync(mine, new SetWebhookEndpointRequest(owner, Receiver.Url(path), Kinds: [NotificationKinds.PoolExhausted, NotificationKinds.ThresholdCrossed]));

        foreach (var space in new[] { mine, other })
        {
            await fixture.SpendAsync(owner, space, 10);   // 50, 80, 100 %
            var refused = await fixture.Quota.ReserveAsync(owner, space, new GenerationSpec("ai-shadows"));
            Assert.Equal(RejectionCode.InsufficientCredits, refused.Rejection?.Code);   // pool exhausted
        }

        // A plan change too (a downgrade, scheduled for the renewal): not a kind this endpoint asked for.
        Assert.True((await fixture.Quota.ChangePlanAsync(mine, new ChangePlanRequest(WebhookClusterFixture.NewId("op"), owner, PlanTier.Free))).Succeeded);

        var views = await fixture.WaitForNotificationsAsync(mine, v => v.Count == 5 && v.All(n => n.Deliveries.All(d => d.Status == DeliveryStatus.Delivered)));
        Assert.Equal(
            [NotificationKind.PlanChanged, NotificationKind.PoolExhausted, NotificationKind.ThresholdCrossed, NotificationKind.ThresholdCrossed, NotificationKind.ThresholdCrossed],
            views.Select(v => v.Kind).ToArray());
        var wanted = views.Where(v => v.Kind != NotificationKind.PlanChanged).Select(v => v.Id).Order(StringComparer.Ordinal).ToArray();
        var received = await Receiver.WaitAsync(path, r => r.Count >= 4);

        // Attempts run side by side: no order is promised, only each notification (here each exactly once: all 200).
        Assert.Equal(wanted, received.Select(r => r.Id).Order(StringComparer.Ordinal).ToArray());
        Assert.All(received, r => Assert.Contains($"\"spaceId\":\"{mine}\"", r.Body, StringComparison.Ordinal));
        Assert.Equal(["global:ops"], views.Single(v => v.Kind == NotificationKind.PlanChanged).Deliveries.Select(d => d.EndpointId).ToArray());

        // The other Space's four went to the global endpoint only.
        var others = await fixture.WaitForNotificationsAsync(other, v => v.Count == 4 && v.All(n => n.Deliveries.All(d => d.Status == DeliveryStatus.Delivered)));
        Assert.All(others, v => Assert.Equal(["global:ops"], v.Deliveries.Select(d => d.EndpointId).ToArray()));
        Assert.DoesNotContain(Receiver.At(path), r => r.Body.Contains(other, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_attempt_that_throws_anything_is_a_failed_attempt_retried_on_the_schedule()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, 100);
        var path = WebhookClusterFixture.NewId(ThrowsOnceHandler.Prefix.TrimEnd('-'));
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, Receiver.Url(path), EndpointId: "flaky"));
        Assert.True(set.Succeeded, set.Rejection?.ToString());

        await fixture.SpendAsync(owner, spaceId, 50);

        var view = Assert.Single(await fixture.WaitForNotificationsAsync(spaceId, v => v.Count == 1 && v[0].Deliveries.All(d => d.Status == DeliveryStatus.Delivered)));
        var flaky = Assert.Single(view.Deliveries, d => d.EndpointId == "flaky");
        Assert.Equal((2, (int?)200), (flaky.Attempts, flaky.LastStatusCode));
        var attempts = (await fixture.Quota.GetWebhookDeliveriesAsync(spaceId)).Where(a => a.EndpointId == "flaky").OrderBy(a => a.Attempt).ToArray();
        Assert.Equal([(1, (int?)null, (string?)"InvalidOperationException: a handler failed"), (2, 200, null)], attempts.Select(a => (a.Attempt, a.StatusCode, a.Error)).ToArray());
        Assert.Single(await Receiver.WaitAsync(path, r => r.Count >= 1));
    }

    private static string Json(DateTimeOffset instant) => JsonSerializer.Serialize(instant.ToUniversalTime());

    private static void Verify(string secret, ReceivedWebhook received)
    {
        var headers = new HeaderDictionary();
        foreach (var (name, value) in received.Headers)
        {
            headers[name] = value;
        }

        new StandardWebhook(secret).Verify(received.Body, headers);
    }
}
