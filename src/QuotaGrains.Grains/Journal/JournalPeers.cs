using Microsoft.Extensions.Logging;
using Orleans.Runtime.Services;
using Orleans.Services;

namespace QuotaGrains.Grains.Journal;

/// <summary>Each silo's door for the others that recover from the same dead stream (<see cref="DeadStreamShare"/>).</summary>
[Alias("QuotaGrains.IJournalPeerService")]
internal interface IJournalPeerService : IGrainService
{
    /// <summary>The bytes of a fenced stream's segment from <paramref name="offset"/>, at most <paramref name="length"/>:
    /// from this silo's own read of that range, or read from the store for the caller.</summary>
    [Alias("ReadFenced")]
    Task<byte[]> ReadFencedAsync(string segment, long offset, int length);
}

internal interface IJournalPeerServiceClient : IGrainServiceClient<IJournalPeerService>
{
    IJournalPeerService On(SiloAddress silo);
}

/// <summary>Serves other silos the ranges of a dead stream that this silo reads for them all.</summary>
internal sealed class JournalPeerService(GrainId id, Silo silo, ILoggerFactory loggerFactory, JournalReader reader)
    : GrainService(id, silo, loggerFactory), IJournalPeerService
{
    public Task<byte[]> ReadFencedAsync(string segment, long offset, int length) => reader.ServePeerAsync(segment, offset, length);
}

internal sealed class JournalPeerServiceClient(IServiceProvider services)
    : GrainServiceClient<IJournalPeerService>(services), IJournalPeerServiceClient
{
    public IJournalPeerService On(SiloAddress silo) => GetGrainService(silo);
}

/// <summary>The peers of this silo as Orleans' membership shows them: every active silo reads a dead silo's stream, since
/// Orleans places the dead silo's Spaces over all of them.</summary>
internal sealed class OrleansJournalPeers(IClusterMembershipService membership, ILocalSiloDetails silo, IJournalPeerServiceClient client) : IJournalPeers
{
    private ReaderList? _readers;

    public SiloAddress Self => silo.SiloAddress;

    public IReadOnlyList<SiloAddress> Readers()
    {
        var snapshot = membership.CurrentSnapshot;
        if (Volatile.Read(ref _readers) is { } known && known.Version == snapshot.Version)
        {
            return known.Readers;
        }

        var readers = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress).Order().ToList();
        Volatile.Write(ref _readers, new ReaderList(snapshot.Version, readers));
        return readers;
    }

    public Task<byte[]> ReadAsync(SiloAddress peer, string segment, long offset, int length) =>
        client.On(peer).ReadFencedAsync(segment, offset, length);

    /// <summary>The readers of one membership version (swapped whole: read and written from any thread).</summary>
    private sealed record ReaderList(MembershipVersion Version, IReadOnlyList<SiloAddress> Readers);
}
