using System.Net;
using QuotaGrains.Client;
using QuotaGrains.Grains.Notifications;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Notifications;

/// <summary>What a Space's own endpoint may reach: public addresses only, unless the operator names a private network.</summary>
public sealed class WebhookDestinationTests
{
    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("172.32.0.1", true)]
    [InlineData("2606:4700::1111", true)]
    [InlineData("::ffff:8.8.8.8", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.10.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.31.255.255", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("224.0.0.1", false)]
    [InlineData("255.255.255.255", false)]
    [InlineData("::1", false)]
    [InlineData("::", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("64:ff9b::a00:1", false)]
    public void Only_public_addresses_are_public(string address, bool isPublic) =>
        Assert.Equal(isPublic, WebhookDestinations.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public void A_named_private_network_is_allowed_and_nothing_beside_it()
    {
        var destinations = new WebhookDestinations([IPNetwork.Parse("127.0.0.1/32"), IPNetwork.Parse("10.20.0.0/16")]);

        Assert.Equal(
            [true, true, true, false, false, false],
            new[] { "127.0.0.1", "::ffff:127.0.0.1", "10.20.5.6", "127.0.0.2", "10.21.0.1", "::1" }.Select(a => destinations.Allows(IPAddress.Parse(a))).ToArray());
    }

    [Theory]
    [InlineData("http://169.254.169.254/latest/meta-data", true)]
    [InlineData("http://127.0.0.1:8080/hooks", true)]
    [InlineData("http://[::1]:8080/hooks", true)]
    [InlineData("http://[::ffff:10.0.0.1]/hooks", true)]
    [InlineData("https://10.0.0.5/hooks", true)]
    [InlineData("https://8.8.8.8/hooks", false)]
    [InlineData("https://hooks.example.com/quota", false)] // a name is checked when connecting
    public void An_address_literal_is_checked_when_the_endpoint_is_set(string url, bool refused)
    {
        var problem = new WebhookDestinations([]).CheckUrl(url);

        Assert.Equal(refused, problem is not null);
        if (refused)
        {
            Assert.Contains("Quota:Webhooks:AllowedPrivateNetworks", problem);
        }
    }

    [Fact]
    public async Task A_name_that_resolves_to_loopback_is_refused_when_connecting_unless_allowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = $"http://localhost:{receiver.Port}/named";

        using var refused = Client(new WebhookDestinations([]));
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => refused.PostAsync(url, new StringContent("{}")));
        Assert.Contains("Quota:Webhooks:AllowedPrivateNetworks", error.ToString());
        Assert.Empty(receiver.At("named"));

        using var allowed = Client(new WebhookDestinations([IPNetwork.Parse("127.0.0.0/8")]));
        using var response = await allowed.PostAsync(url, new StringContent("{}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(receiver.At("named"));
    }

    [Fact]
    public void A_network_that_is_not_in_CIDR_notation_is_refused_at_start()
    {
        Assert.Empty(new WebhookOptions { AllowedPrivateNetworks = ["10.20.0.0/16", "127.0.0.1/32", "fd00::/8"] }.Validate());
        Assert.Equal(
            ["AllowedPrivateNetworks: 'intranet' is not a network in CIDR notation (e.g. 10.20.0.0/16)."],
            new WebhookOptions { AllowedPrivateNetworks = ["10.0.0.0/8", "intranet"] }.Validate().ToArray());
    }

    private static HttpClient Client(WebhookDestinations destinations) =>
        new(new SocketsHttpHandler { ConnectCallback = destinations.ConnectAsync }) { Timeout = TimeSpan.FromSeconds(30) };
}

/// <summary>A cluster with the default webhook settings: a Space's endpoints reach public addresses only.</summary>
public sealed class PublicEndpointsFixture : WebhookClusterFixture
{
    protected override IReadOnlyList<string> AllowedPrivateNetworks => [];
}

/// <summary>End to end: a Space's Admin cannot make the engine post into its own network; the operator's global
/// endpoint on the same network is not restricted.</summary>
public sealed class SpaceEndpointDestinationTests(PublicEndpointsFixture fixture) : IClassFixture<PublicEndpointsFixture>
{
    [Fact]
    public async Task A_private_address_is_refused_when_set_and_changes_nothing()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, allowance: 100);

        foreach (var url in new[] { fixture.Receiver.Url("literal"), "http://169.254.169.254/latest/meta-data", "http://[::1]:10000/devstoreaccount1" })
        {
            var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, url));

            Assert.False(set.Succeeded, url);
            Assert.Equal(RejectionCode.InvalidRequest, set.Rejection!.Code);
            Assert.Contains("Quota:Webhooks:AllowedPrivateNetworks", set.Rejection.Message);
        }

        Assert.Empty(await fixture.Quota.GetWebhookEndpointsAsync(spaceId));
    }

    [Fact]
    public async Task A_name_that_resolves_to_a_private_address_is_refused_at_delivery_and_the_global_endpoint_still_gets_it()
    {
        var owner = WebhookClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(owner, allowance: 100);
        var path = WebhookClusterFixture.NewId("named");
        var set = await fixture.Quota.SetWebhookEndpointAsync(spaceId, new SetWebhookEndpointRequest(owner, $"http://localhost:{fixture.Receiver.Port}/{path}"));
        Assert.True(set.Succeeded, set.Rejection?.ToString());

        await fixture.SpendAsync(owner, spaceId, 50);

        var view = Assert.Single(await fixture.WaitForNotificationsAsync(spaceId, v => v.Count == 1 && v[0].Deliveries.All(d => d.Attempts >= 1)));
        Assert.Equal(DeliveryStatus.Delivered, view.Deliveries.Single(d => d.EndpointId == "global:ops").Status);
        var mine = view.Deliveries.Single(d => d.EndpointId == set.EndpointId);
        Assert.Null(mine.LastStatusCode);
        Assert.Contains("Quota:Webhooks:AllowedPrivateNetworks", mine.LastError);
        Assert.Empty(fixture.Receiver.At(path));
    }
}
