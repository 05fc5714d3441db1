using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace QuotaGrains.Grains.Journal;

/// <summary>
/// A silo's fencing decision, by Orleans membership: another silo's stream is fenced when that silo is Dead, or absent
/// from the membership table (cleaned up). Before calling a silo alive it refreshes the local view once: another silo may
/// have seen the death first (the grain directory moved a Space here on its view). Never fences this silo's own stream,
/// nor a live silo's (a Space that moved after a graceful deactivation, or after failing closed).
/// </summary>
internal sealed partial class MembershipStreamFencing(
    IJournalStore store,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> cluster,
    ILocalSiloDetails silo,
    ILogger<MembershipStreamFencing> logger) : IStreamFencing
{
    private readonly ConcurrentDictionary<string, bool> _fenced = new(StringComparer.Ordinal);
    private readonly string _own = JournalLifecycle.StreamName(cluster, silo);

    public async Task<bool> FenceIfDeadAsync(string stream, CancellationToken cancellationToken)
    {
        if (stream == _own)
        {
            return false;
        }

        if (_fenced.ContainsKey(stream))
        {
            return true;
        }

        var status = StatusOf(stream);
        if (status is not SiloStatus.Dead)
        {
            await membership.Refresh(cancellationToken: cancellationToken);
            status = StatusOf(stream);
        }

        if (status is not (SiloStatus.Dead or SiloStatus.None))
        {
            return false;
        }

        await JournalFence.FenceAsync(store, stream, cancellationToken);
        if (_fenced.TryAdd(stream, true))
        {
            LogFenced(stream, status is SiloStatus.Dead ? "declared dead" : "gone from the membership table");
        }

        return true;
    }

    /// <summary>The status of the silo that writes <paramref name="stream"/>; <see cref="SiloStatus.None"/> if absent.</summary>
    private SiloStatus StatusOf(string stream)
    {
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (JournalLifecycle.StreamName(cluster.Value.ServiceId, member.SiloAddress) == stream)
            {
                return member.Status;
            }
        }

        return SiloStatus.None;
    }

    [LoggerMessage(501, LogLevel.Warning, "Journal stream {Stream} fenced before it is read: its silo is {Why}. That silo's journal can append nothing more.")]
    private partial void LogFenced(string stream, string why);
}
