using Orleans.Serialization;
using Orleans.Storage;
using QuotaGrains.Grains;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Grains.Spaces;

namespace QuotaGrains.Simulator;

/// <summary>What every simulated store shares: the random, the clock, the fault plan, the counters, and the storage's
/// own scheduler (a request that reached the storage lands even if the silo that sent it has died).</summary>
internal sealed class StorageWorld(Random random, SimulationClock clock, FaultPlan faults, Counters counters, SimulationScheduler storage)
{
    public Random Random { get; } = random;

    public SimulationClock Clock { get; } = clock;

    public FaultPlan Faults { get; set; } = faults;

    public Counters Counters { get; } = counters;

    public SimulationScheduler Storage { get; } = storage;

    public bool Roll(double p) => p > 0 && Random.NextDouble() < p;

    /// <summary>A storage request's latency: a few turns of the scheduler, sometimes simulated milliseconds, rarely a
    /// hang past every timeout (cut short by <paramref name="cancellationToken"/>).</summary>
    public async Task LatencyAsync(CancellationToken cancellationToken)
    {
        for (var i = Random.Next(3); i > 0; i--)
        {
            await Task.Yield();
        }

        if (Roll(Faults.Hang))
        {
            Counters.Add("fault.hang");
            await Task.Delay(TimeSpan.FromSeconds(30), Clock, cancellationToken);
        }
        else if (Roll(Faults.Slow))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(1 + Random.Next(50)), Clock, cancellationToken);
        }
    }
}

/// <summary>The journal store, in memory, as an append blob behaves: an append lands whole at the offset it names, or
/// fails with 412 (the segment is short of the offset: too early; or past it: conflict). Faults: an append that fails
/// before landing, one that lands but whose answer is lost, one that is cut off by the caller's timeout and lands
/// later, a spurious 412, a torn final block when the silo crashes mid-append, failed reads and listings.</summary>
internal sealed class SimJournalStore(StorageWorld world) : IJournalStore
{
    private readonly SortedDictionary<string, List<byte>> _segments = new(StringComparer.Ordinal);
    private readonly List<(string Segment, long Offset, byte[] Data)> _inFlight = [];
    private readonly HashSet<string> _sealed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fences = new(StringComparer.Ordinal);

    public long Bytes => _segments.Values.Sum(s => (long)s.Count);

    public async Task CreateSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        await world.LatencyAsync(cancellationToken);
        if (world.Roll(world.Faults.SegmentFails))
        {
            world.Counters.Add("fault.segment-fails");
            throw new InjectedFault("create segment failed");
        }

        if (!_segments.TryAdd(segment, []) && _sealed.Contains(segment))
        {
            throw new JournalFencedException($"Journal segment '{segment}' exists sealed: the stream is fenced.");
        }
    }

    public async Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        var data = block.ToArray();
        var entry = (segment, expectedOffset, data);
        _inFlight.Add(entry);
        try
        {
            if (world.Roll(world.Faults.AppendLate))
            {
                // The request reached the storage; the caller gives up at its timeout; the block lands afterwards.
                world.Counters.Add("fault.append-late");
                _ = world.Storage.Start(async () =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(1 + world.Random.Next(20)), world.Clock);
                    var refused = Land(segment, expectedOffset, data);
                    if (refused is null)
                    {
                        world.Counters.Add("append.landed-late");
                    }
                    else if (refused is JournalFencedException)
                    {
                        // The writer sealed the segment when it gave up on the append (or a survivor fenced the stream).
                        world.Counters.Add("append.late-refused");
                    }
                });
                await Task.Delay(Timeout.InfiniteTimeSpan, world.Clock, cancellationToken);
            }

            await world.LatencyAsync(cancellationToken);
            if (world.Roll(world.Faults.AppendFails))
            {
                world.Counters.Add("fault.append-fails");
                throw new InjectedFault("append failed before landing");
            }

            if (world.Roll(world.Faults.Append412))
            {
                world.Counters.Add("fault.append-412");
                throw new JournalAppendConflictException("injected 412");
            }

            if (world.Roll(world.Faults.AppendLost))
            {
                world.Counters.Add("fault.append-lost");
                return;
            }

            if (Land(segment, expectedOffset, data) is { } refused)
            {
                world.Counters.Add(refused is JournalAppendTooEarlyException ? "append.too-early" : "append.conflict");
                throw refused;
            }

            if (world.Roll(world.Faults.AppendAmbiguous))
            {
                world.Counters.Add("fault.append-ambiguous");
                throw new InjectedFault("append landed, answer lost");
            }
        }
        finally
        {
            _inFlight.Remove(entry);
        }
    }

    public async Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
    {
        await world.LatencyAsync(cancellationToken);
        if (world.Roll(world.Faults.ReadFails))
        {
            world.Counters.Add("fault.read-fails");
            throw new InjectedFault("read failed");
        }

        if (!_segments.TryGetValue(segment, out var bytes) || offset >= bytes.Count)
        {
            return [];
        }

        return bytes.GetRange((int)offset, (int)Math.Min(maxBytes, bytes.Count - offset)).ToArray();
    }

    public async Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken)
    {
        await world.LatencyAsync(cancellationToken);
        if (world.Roll(world.Faults.ReadFails))
        {
            world.Counters.Add("fault.list-fails");
            throw new InjectedFault("listing failed");
        }

        return _segments.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToList();
    }

    public Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        _segments.Remove(segment);
        _sealed.Remove(segment);
        _fences.Remove(segment);
        return Task.CompletedTask;
    }

    public Task SealSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        if (_segments.ContainsKey(segment))
        {
            _sealed.Add(segment);
        }

        return Task.CompletedTask;
    }

    public Task<bool> CreateFenceSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        if (!_segments.TryAdd(segment, []))
        {
            return Task.FromResult(false);
        }

        _sealed.Add(segment);
        _fences.Add(segment);
        return Task.FromResult(true);
    }

    public Task<bool> IsFenceSegmentAsync(string segment, CancellationToken cancellationToken) => Task.FromResult(_fences.Contains(segment));

    /// <summary>A silo of <paramref name="stream"/> crashed: an append of it in flight right at a segment's end may have
    /// landed in part (a torn final block).</summary>
    public void Crashed(string stream)
    {
        foreach (var (segment, offset, data) in _inFlight.ToList())
        {
            if (segment.StartsWith(stream + "/", StringComparison.Ordinal) && _segments.TryGetValue(segment, out var bytes)
                && bytes.Count == offset && data.Length > 1 && world.Roll(world.Faults.TornOnCrash))
            {
                world.Counters.Add("fault.torn-tail");
                bytes.AddRange(data.AsSpan(0, 1 + world.Random.Next(data.Length - 1)));
            }
        }

        _inFlight.RemoveAll(a => a.Segment.StartsWith(stream + "/", StringComparison.Ordinal));
    }

    private Exception? Land(string segment, long expectedOffset, byte[] data)
    {
        if (!_segments.TryGetValue(segment, out var bytes))
        {
            return new InvalidOperationException($"Journal segment '{segment}' does not exist.");
        }

        if (_sealed.Contains(segment))
        {
            return new JournalFencedException($"Journal segment '{segment}' is sealed: the stream is fenced.");
        }

        if (bytes.Count < expectedOffset)
        {
            return new JournalAppendTooEarlyException($"Segment '{segment}' is at {bytes.Count}, short of {expectedOffset}.");
        }

        if (bytes.Count > expectedOffset)
        {
            return new JournalAppendConflictException($"Segment '{segment}' is at {bytes.Count}, past {expectedOffset}.");
        }

        bytes.AddRange(data);
        return null;
    }
}

/// <summary>Snapshots as Orleans grain storage keeps them: serialized, with an ETag; a write from an activation that read
/// an older ETag is refused (another activation wrote). Faults: a write that fails, one that lands but whose answer
/// is lost, an injected ETag conflict.</summary>
internal sealed class SimSnapshotStore(StorageWorld world, Serializer serializer)
{
    private readonly Dictionary<string, (byte[] Data, int ETag)> _stored = new(StringComparer.Ordinal);

    public long Bytes => _stored.Values.Sum(s => (long)s.Data.Length);

    /// <summary>What an activation reads when it starts.</summary>
    public ISpaceSnapshots Open(string spaceId) => new Handle(this, spaceId);

    /// <summary>False once another activation wrote after <paramref name="snapshots"/> read or last wrote: the activation
    /// that holds it is doomed (its next snapshot write, which comes before its first append, meets an ETag conflict).</summary>
    public bool IsCurrent(ISpaceSnapshots snapshots) =>
        snapshots is Handle handle && (_stored.TryGetValue(handle.SpaceId, out var stored) ? stored.ETag : 0) == handle.ETag;

    private sealed class Handle : ISpaceSnapshots
    {
        private readonly SimSnapshotStore _store;
        private readonly string _spaceId;
        private int _etag;

        public Handle(SimSnapshotStore store, string spaceId)
        {
            _store = store;
            _spaceId = spaceId;
            if (store._stored.TryGetValue(spaceId, out var stored))
            {
                Current = store._serializer.Deserialize<SpaceSnapshot>(stored.Data) ?? new SpaceSnapshot();
                _etag = stored.ETag;
            }
            else
            {
                Current = new SpaceSnapshot();
            }
        }

        public SpaceSnapshot Current { get; private set; }

        public string SpaceId => _spaceId;

        public int ETag => _etag;

        public async Task WriteAsync(SpaceSnapshot snapshot)
        {
            // As IPersistentState: the state is what was asked to be written, whether or not the write succeeds.
            Current = snapshot;
            var world = _store._world;
            await world.LatencyAsync(CancellationToken.None);
            if (world.Roll(world.Faults.SnapshotFails))
            {
                world.Counters.Add("fault.snapshot-fails");
                throw new InjectedFault("snapshot write failed");
            }

            if (world.Roll(world.Faults.SnapshotConflict))
            {
                world.Counters.Add("fault.snapshot-conflict");
                throw new InconsistentStateException("injected ETag conflict: another activation wrote", "stored", _etag.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            var stored = _store._stored.TryGetValue(_spaceId, out var s) ? s.ETag : 0;
            if (stored != _etag)
            {
                world.Counters.Add("snapshot.etag-conflict");
                throw new InconsistentStateException("ETag conflict", stored.ToString(System.Globalization.CultureInfo.InvariantCulture), _etag.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            _store._stored[_spaceId] = (_store._serializer.SerializeToArray(snapshot), stored + 1);
            if (world.Roll(world.Faults.SnapshotAmbiguous))
            {
                world.Counters.Add("fault.snapshot-ambiguous");
                throw new InjectedFault("snapshot written, answer lost");
            }

            _etag = stored + 1;
        }
    }

    private readonly StorageWorld _world = world;
    private readonly Serializer _serializer = serializer;
}

/// <summary>The ledger: the engine's <see cref="MemoryLedgerStore"/> (keeping everything), which shows a page only once a
/// snapshot named its batch. Faults: a write that fails, one that lands but whose answer is lost. A page or a named
/// batch written again with other content is a violation. With <see cref="ShowsUnnamedPages"/> it shows every page, the
/// last written of each sequence winning, as the ledger did before batches: the simulator's own test that its ledger
/// check catches an activation that lost the snapshot's ETag race leaving its pages in the ledger.</summary>
internal sealed class SimLedgerStore(StorageWorld world, Action<string> violation) : ILedgerStore
{
    private readonly MemoryLedgerStore _ledger = new(maxEntriesPerSpace: int.MaxValue);
    private readonly Dictionary<(string Space, string Writer, long Last), byte[]> _pages = [];
    private readonly Dictionary<(string Space, long Last), LedgerBatch> _named = [];
    private readonly Dictionary<string, SortedDictionary<long, LedgerEntry>> _lastWritten = new(StringComparer.Ordinal);

    public bool ShowsUnnamedPages { get; init; }

    public long Entries => _lastWritten.Values.Sum(s => (long)s.Count);

    public async Task WriteAsync(string spaceId, LedgerBatch batch, IReadOnlyList<LedgerPageRow> pages, LedgerBatch? named, CancellationToken cancellationToken)
    {
        await world.LatencyAsync(cancellationToken);
        if (world.Roll(world.Faults.LedgerFails))
        {
            world.Counters.Add("fault.ledger-fails");
            throw new InjectedFault("ledger write failed");
        }

        if (named is not null)
        {
            if (_named.TryGetValue((spaceId, named.LastSequence), out var earlier) && earlier != named)
            {
                violation($"ledger: {spaceId} batch through #{named.LastSequence} named twice: {earlier}, then {named}");
            }

            _named[(spaceId, named.LastSequence)] = named;
        }

        if (!_lastWritten.TryGetValue(spaceId, out var entries))
        {
            _lastWritten[spaceId] = entries = [];
        }

        foreach (var page in pages)
        {
            if (_pages.TryGetValue((spaceId, batch.Writer, page.LastSequence), out var json) && !json.AsSpan().SequenceEqual(page.Json))
            {
                violation($"ledger: {spaceId} page through #{page.LastSequence} of {batch.Writer} rewritten");
            }

            _pages[(spaceId, batch.Writer, page.LastSequence)] = page.Json;
            foreach (var entry in LedgerPages.Decode(page.Json))
            {
                entries[entry.Sequence] = entry;
            }
        }

        await _ledger.WriteAsync(spaceId, batch, pages, named, cancellationToken);
        if (world.Roll(world.Faults.LedgerAmbiguous))
        {
            world.Counters.Add("fault.ledger-ambiguous");
            throw new InjectedFault("ledger written, answer lost");
        }
    }

    public Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, LedgerBatch? named, CancellationToken cancellationToken)
    {
        if (!ShowsUnnamedPages)
        {
            return _ledger.QueryAsync(spaceId, query, named, cancellationToken);
        }

        IReadOnlyList<LedgerEntry> found = _lastWritten.TryGetValue(spaceId, out var entries)
            ? entries.Values.Where(e => e.Sequence > query.AfterSequence && (query.From is null || e.At >= query.From) && (query.To is null || e.At < query.To)).Take(query.PageSize).ToList()
            : [];
        return Task.FromResult(found);
    }
}
