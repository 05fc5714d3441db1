using System.Net;
using Microsoft.Extensions.Hosting;

namespace QuotaGrains.Silo.Options;

/// <summary>How the silo joins its cluster (section <c>Quota:Silo</c>).</summary>
public sealed class QuotaSiloOptions
{
    public const string Localhost = "localhost";
    public const string Azure = "azure";

    /// <summary><c>localhost</c> (the default: one silo on loopback, nothing to set up) or <c>azure</c>: Orleans
    /// membership in an Azure Table of the storage account in <c>Quota:Storage:ConnectionString</c>, so that several
    /// silos form one cluster.</summary>
    public string Clustering { get; set; } = Localhost;

    /// <summary>The port silos talk to each other on (default 11111).</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>The port clients connect to (default 30000).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>For <c>azure</c>: the address other silos and clients reach this one at (default 127.0.0.1; a pod's IP
    /// in Kubernetes). The silo listens on every address of the host.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    /// <summary>The service's id: what its storage is keyed by; the same for every cluster of one deployment.</summary>
    public string ServiceId { get; set; } = "quotagrains";

    /// <summary>The cluster's id: silos and clients with the same one form a cluster.</summary>
    public string ClusterId { get; set; } = "local";

    /// <summary>For <c>azure</c>: how long a silo waits for a probe's answer before it counts as missed (default 2 s,
    /// against Orleans' 5 s). A silo is declared dead after <see cref="MissedProbesLimit"/> missed probes and two votes,
    /// so a silent silo's Spaces are unavailable for about <c>ProbeTimeout × MissedProbesLimit</c> (longer while the probing silo is itself degraded: Orleans stretches the timeout up to 4×; a crashed one, whose connections are refused, sooner) before they recover
    /// elsewhere: 2 s × 3 ≈ 6 s fits in a generation server's retry window, while a stall of a few seconds (a long GC,
    /// a saturated host; Orleans also lengthens the timeout while the prober itself is degraded) does not evict a live
    /// silo.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>For <c>azure</c>: missed probes in a row before a silo votes another dead (default 3, as Orleans).</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>The HTTP port: health (<c>/health/live</c>, <c>/health/ready</c>), metrics (<c>/metrics</c>) and the
    /// dashboard (default 8080). Always served: a silo nobody can probe cannot be run. On loopback with
    /// <c>localhost</c> clustering, on every address with <c>azure</c>.</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>Orleans' dashboard at <see cref="DashboardPath"/>: unset, on in the Development environment only. It
    /// adds a grain call filter to every call and shows grain state: in production, turn it on only behind
    /// the cluster's network (the HTTP Service is not exposed outside it).</summary>
    public bool? Dashboard { get; set; }

    /// <summary>Where the dashboard is served (default <c>/dashboard</c>).</summary>
    public string DashboardPath { get; set; } = "/dashboard";

    /// <summary>Orleans' Kubernetes hosting (<c>UseKubernetesHosting</c>): the silo is named after its pod, and the
    /// silos watch their pods, so that a deleted pod's silo is declared dead at once (default off; with <c>azure</c>).</summary>
    public bool Kubernetes { get; set; }

    /// <summary>How long the silo may take to stop after SIGTERM (default 90 s): Orleans deactivates every Space, and
    /// each writes its final snapshot, so that the next activation elsewhere replays no journal. A container's grace
    /// period must be longer (the Kubernetes manifests give 120 s).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(90);

    public bool DashboardOn(IHostEnvironment environment) => Dashboard ?? environment.IsDevelopment();

    public bool IsAzure => string.Equals(Clustering, Azure, StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the problems with these options, or nothing when they are valid (<paramref name="storageConnectionString"/>:
    /// <c>Quota:Storage:ConnectionString</c>, which azure clustering uses).</summary>
    public IEnumerable<string> Validate(string? storageConnectionString)
    {
        if (!IsAzure && !string.Equals(Clustering, Localhost, StringComparison.OrdinalIgnoreCase))
        {
            yield return $"Clustering '{Clustering}' is not supported; use '{Localhost}' or '{Azure}'.";
        }

        if (IsAzure && string.IsNullOrWhiteSpace(storageConnectionString))
        {
            yield return "Clustering 'azure' needs Quota:Storage:ConnectionString (the membership table lives in that account).";
        }

        if (SiloPort is < 1 or > 65535)
        {
            yield return "SiloPort must be between 1 and 65535.";
        }

        if (GatewayPort is < 1 or > 65535)
        {
            yield return "GatewayPort must be between 1 and 65535.";
        }

        if (SiloPort == GatewayPort)
        {
            yield return "SiloPort and GatewayPort must differ.";
        }

        if (HttpPort is < 1 or > 65535)
        {
            yield return "HttpPort must be between 1 and 65535.";
        }
        else if (HttpPort == SiloPort || HttpPort == GatewayPort)
        {
            yield return "HttpPort must differ from SiloPort and GatewayPort.";
        }

        if (string.IsNullOrWhiteSpace(DashboardPath) || !DashboardPath.StartsWith('/') || DashboardPath.TrimEnd('/').Length == 0
            || DashboardPath.StartsWith("/health", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"DashboardPath '{DashboardPath}' must start with '/', name a path below the root, and not be under /health.";
        }

        if (ShutdownTimeout < TimeSpan.FromSeconds(1) || ShutdownTimeout > TimeSpan.FromHours(1))
        {
            yield return $"ShutdownTimeout {ShutdownTimeout} must be between 1 second and 1 hour.";
        }

        if (Kubernetes && !IsAzure)
        {
            yield return "Kubernetes hosting needs Clustering 'azure' (silos in pods form a cluster through the membership table).";
        }

        if (!IPAddress.TryParse(AdvertisedAddress, out _))
        {
            yield return $"AdvertisedAddress '{AdvertisedAddress}' is not an IP address.";
        }

        if (ProbeTimeout < TimeSpan.FromMilliseconds(200) || ProbeTimeout > TimeSpan.FromMinutes(1))
        {
            yield return $"ProbeTimeout {ProbeTimeout} must be between 200 ms and 1 minute.";
        }

        if (MissedProbesLimit is < 1 or > 10)
        {
            yield return "MissedProbesLimit must be between 1 and 10.";
        }

        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            yield return "ServiceId is empty.";
        }

        if (string.IsNullOrWhiteSpace(ClusterId))
        {
            yield return "ClusterId is empty.";
        }
    }
}
