using System.Net;
using System.Net.Sockets;

namespace QuotaGrains.Grains.Notifications;

/// <summary>
/// Where a Space's own webhook endpoints may post. A Space's Owner or Admin is a customer: without this, the engine would
/// post signed requests from inside its network to whatever address they name (the cloud's metadata service, the
/// storage emulator, an internal admin API: server-side request forgery). So a Space's endpoint reaches only public
/// addresses, unless <c>Quota:Webhooks:AllowedPrivateNetworks</c> names the network. Checked twice: an IP literal when
/// the endpoint is set (a clear rejection at once), and every address a host name resolves to when an attempt connects
/// (a name that resolves, or is later re-pointed, to a private address is refused then). Global endpoints are the
/// operator's configuration and are not restricted.
/// </summary>
internal sealed class WebhookDestinations(IReadOnlyList<IPNetwork> allowed)
{
    /// <summary>Loopback, private, shared, link-local, multicast, reserved, documentation and translation ranges.</summary>
    private static readonly IPNetwork[] NotPublic =
    [
        .. new[]
        {
            "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
            "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
            "240.0.0.0/4", "::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
            "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
        }.Select(IPNetwork.Parse),
    ];

    /// <summary>True when a Space's endpoint may connect to <paramref name="address"/>.</summary>
    public bool Allows(IPAddress address)
    {
        address = Unmapped(address);
        return !NotPublic.Any(n => n.Contains(address)) || allowed.Any(n => n.Contains(address));
    }

    public static bool IsPublic(IPAddress address)
    {
        address = Unmapped(address);
        return !NotPublic.Any(n => n.Contains(address));
    }

    /// <summary>An IPv4 address written as IPv6 (<c>::ffff:10.0.0.1</c>) is checked as the IPv4 address it is.</summary>
    private static IPAddress Unmapped(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>A problem when <paramref name="url"/> names an address a Space's endpoint may not reach; host names
    /// are checked when connecting.</summary>
    public string? CheckUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6
            && IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var address) && !Allows(address)
            ? $"'{uri.Host}' is not a public address: a Space's endpoint may reach a loopback, private or reserved network only if Quota:Webhooks:AllowedPrivateNetworks names it."
            : null;

    /// <summary>The connection of a Space endpoint's attempt: to the first address of the host that this allows.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var permitted = addresses.Where(Allows).ToArray();
        if (permitted.Length == 0)
        {
            throw new HttpRequestException(HttpRequestError.ConnectionError,
                $"refused: '{host}' resolves to no public address ({string.Join(", ", addresses.Select(a => a.ToString()))}); a Space's endpoint may reach a private network only if Quota:Webhooks:AllowedPrivateNetworks names it.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(permitted, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
