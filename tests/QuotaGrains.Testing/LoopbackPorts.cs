using System.Net;
using System.Net.Sockets;

namespace QuotaGrains.Testing;

/// <summary>Free loopback ports for the processes the tests and benchmarks start (Azurite, silos, Redis).</summary>
public static class LoopbackPorts
{
    // Azurite's defaults (10000-10002) and a silo's (11111, 30000): a process started with its defaults may hold them.
    private static readonly int[] WellKnown = [10000, 10001, 10002, 11111, 30000];
    private static readonly HashSet<int> Given = [];

    /// <summary><paramref name="count"/> distinct ports, none handed out before in this process: a listener closed at
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
                    if (!WellKnown.Contains(port) && Given.Add(port))
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

    /// <summary>One port, as <see cref="Take"/> hands them out.</summary>
    public static int Next() => Take(1)[0];
}
