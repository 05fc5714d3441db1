using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Journal;

/// <summary>The silos that read a dead silo's stream together, and how one asks another for a range of it.</summary>
internal interface IJournalPeers
{
    /// <summary>This silo.</summary>
    SiloAddress Self { get; }

    /// <summary>The silos that recover a dead silo's Spaces now, this one included: the active silos of this silo's
    /// view of the cluster, in address order (every silo with the same view has the same list).</summary>
    IReadOnlyList<SiloAddress> Readers();

    /// <summary>Asks <paramref name="peer"/> for the bytes of <paramref name="segment"/> from <paramref name="offset"/>, at
    /// most <paramref name="length"/> (as <see cref="IJournalStore.ReadAsync"/> would return them). The asker bounds its
    /// wait itself (<see cref="JournalOptions.PeerReadTimeout"/>).</summary>
    Task<byte[]> ReadAsync(SiloAddress peer, string segment, long offset, int length);
}

/// <summary>
/// Splits the read of a fenced stream between the silos that recover from it: each ranged read of it is made from the
/// store by one of them, chosen by the range, and the others ask that silo for its bytes. Every survivor of a crash needs
/// the whole dead stream (it cannot know which of the dead silo's Spaces Orleans will place on it), and on Azurite a read
/// costs the storage service per block, on one thread shared with every other request of the recovery: split, the store
/// serves the stream once in all rather than once per survivor.
/// </summary>
/// <remarks>Only a fenced stream's ranges are shared: nothing can be appended to it any more, so a range holds the same
/// bytes whoever reads it and whenever. Sharing never decides what is read, only who asks the store for it: a range
/// whose silo does not answer within <see cref="JournalOptions.PeerReadTimeout"/>, or fails, is read from the store here
/// (and that silo is asked nothing more for the stream), and a silo serving a peer reads from the store itself, never
/// from a third silo, so no ask waits on another. Silos whose views differ may both read a range, or both ask the other
/// for it (who then reads it from the store): the cost of a read per survivor at worst, as without sharing.</remarks>
internal sealed partial class DeadStreamShare(IJournalPeers peers, IOptions<JournalOptions> options, ILogger<DeadStreamShare> logger, JournalRuntime? runtime = null)
{
    private readonly JournalOptions _options = options.Value;
    private readonly JournalRuntime _runtime = runtime ?? JournalRuntime.Default;
    private readonly Dictionary<(string Segment, long Offset, int Length), Shared> _shared = [];
    private readonly HashSet<(string Stream, SiloAddress Peer)> _failed = [];

    /// <summary>Ranges this silo read from the store (or is reading) and keeps for the peers that will ask.</summary>
    public int SharedRanges
    {
        get
        {
            lock (_shared)
            {
                return _shared.Count;
            }
        }
    }

    /// <summary>The silo that reads the range of a fenced stream's segment from the store; <c>null</c> if nobody shares it
    /// (sharing turned off, a range that is not one of the reader's standard ranges, a single reader, or a silo that failed
    /// to answer).</summary>
    public SiloAddress? OwnerOf(string segment, long offset, int length)
    {
        if (!_options.ShareDeadStreamReads || length != _options.RecoveryReadBytes || offset % length != 0)
        {
            return null;
        }

        var readers = peers.Readers();
        if (readers.Count < 2 || !readers.Contains(peers.Self))
        {
            return null;
        }

        var number = Math.Max(0, JournalPosition.SegmentNumberOf(segment));
        var owner = readers[(int)(((offset / length) + number) % readers.Count)];
        lock (_shared)
        {
            return _failed.Contains((StreamOf(segment), owner)) ? null : owner;
        }
    }

    /// <summary>The bytes of a range of a fenced stream, for this silo's own read: read from the store here (once, with the
    /// peers that ask for it) or asked of the silo that reads it.</summary>
    /// <param name="fromStore">The store read (with the reader's retries and its bound on reads in flight); it stops with
    /// the reader, not with the token it is given, since others may wait for it.</param>
    /// <param name="fromPeer">Called with the bytes that came from a peer.</param>
    public async Task<byte[]> ReadAsync(string segment, long offset, int length, Func<CancellationToken, Task<byte[]>> fromStore, Action<int> fromPeer, CancellationToken cancellationToken)
    {
        var owner = OwnerOf(segment, offset, length);
        if (owner is null)
        {
            return await fromStore(cancellationToken);
        }

        if (owner.Equals(peers.Self))
        {
            return await Share(segment, offset, length, fromStore, local: true).WaitAsync(cancellationToken);
        }

        // The timeout runs from before the ask: the clock may be a test's, advanced as soon as the ask is seen.
        using var timeout = new CancellationTokenSource(_options.PeerReadTimeout, _runtime.Time);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var ask = Task.FromResult<byte[]>([]);
        try
        {
            ask = peers.ReadAsync(owner, segment, offset, length);
            var data = await ask.WaitAsync(waiting.Token);
            fromPeer(data.Length);
            return data;
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            // An ask that timed out may still fail later: nobody waits for it any more.
            _ = ask.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, _runtime.Scheduler);
            lock (_shared)
            {
                _failed.Add((StreamOf(segment), owner));
            }

            LogPeerFailed(exception, segment, offset, owner);
            return await fromStore(cancellationToken);
        }
    }

    /// <summary>A peer's ask: the range from this silo's own read of it (joined while it runs, or kept since), or read from
    /// the store for the peer now. Never asked of another silo.</summary>
    public Task<byte[]> ServeAsync(string segment, long offset, int length, Func<CancellationToken, Task<byte[]>> fromStore) =>
        peers.Self.Equals(OwnerOf(segment, offset, length))
            ? Share(segment, offset, length, fromStore, local: false)
            : _runtime.Run(() => fromStore(CancellationToken.None)); // not this silo's range in its view: this silo will not take it

    /// <summary>The one store read of a range, started by whoever needs it first and kept until this silo and every peer
    /// took it (or, for those that never come, <see cref="JournalOptions.RecoveryCacheIdle"/>).</summary>
    private Task<byte[]> Share(string segment, long offset, int length, Func<CancellationToken, Task<byte[]>> fromStore, bool local)
    {
        var key = (segment, offset, length);
        var now = _runtime.Time.GetTimestamp();
        Shared shared;
        lock (_shared)
        {
            DropExpired(now);
            if (!_shared.TryGetValue(key, out shared!))
            {
                shared = new Shared(now);
                _shared[key] = shared;

                // On the reader's scheduler, not the caller's (a peer's ask arrives on Orleans' system target); with no
                // caller's token: others may wait for the read (the reader's store read stops with the reader).
                shared.Data = _runtime.Run(() => fromStore(CancellationToken.None));
                shared.Data.ContinueWith(
                    _ =>
                    {
                        lock (_shared)
                        {
                            if (_shared.TryGetValue(key, out var current) && current == shared)
                            {
                                _shared.Remove(key);
                            }
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    _runtime.Scheduler);
            }

            if (local)
            {
                shared.TakenHere = true;
            }
            else
            {
                shared.PeersServed++;
            }

            if (shared.TakenHere && shared.PeersServed >= peers.Readers().Count - 1)
            {
                _shared.Remove(key);
            }
        }

        return shared.Data;
    }

    private static string StreamOf(string segment) => segment[..Math.Max(0, segment.LastIndexOf('/'))];

    private void DropExpired(long now)
    {
        if (_shared.Count == 0)
        {
            return;
        }

        foreach (var (key, shared) in _shared.Where(s => _runtime.Time.GetElapsedTime(s.Value.Since, now) > _options.RecoveryCacheIdle).ToList())
        {
            _shared.Remove(key);
        }
    }

    [LoggerMessage(801, LogLevel.Warning, "Journal reader: silo {Peer} did not give {Segment} at {Offset}; read from the store here, and that silo is asked nothing more for this stream.")]
    private partial void LogPeerFailed(Exception exception, string segment, long offset, SiloAddress peer);

    /// <summary>One range's store read and who took it. Guarded by the share's lock.</summary>
    private sealed class Shared(long since)
    {
        public long Since { get; } = since;

        public Task<byte[]> Data { get; set; } = null!;

        public bool TakenHere { get; set; }

        public int PeersServed { get; set; }
    }
}
