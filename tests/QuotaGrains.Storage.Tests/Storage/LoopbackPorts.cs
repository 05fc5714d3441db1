using System.Net;
using System.Net.Sockets;

namespace QuotaGrains.Tests.Storage;

/// <summary>Free loopback ports for the processes the tests start (Azurite, silos).</summary>
public static class LoopbackPorts
{
    private static readonly HashSet<int> Given = [];

    /// <summary><paramref name="count"/> distinct ports, none handed out before in this test run: a listener closed at
    /// once lets the system hand the same port out again, and two services told the same port fail to start.</summary>
    public static int[] Take(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            var ports = new List<int>();
            while (ports.Count < count)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                lock (Given)
                {
                    if (Given.Add(port))
                    {
                        ports.Add(port);
                    }
                }
            }

            return [.. ports];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
