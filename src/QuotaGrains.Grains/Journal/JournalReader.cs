using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Journal;

/// <summary>
/// Reads journal streams back for the Spaces that recover from them: a stream is read once per recovery wave, not once
/// per Space. A Space that asks for its records after a position joins the next read of that stream; one read serves
/// everyone who waited for it. A read fills only what is not cached yet, in ranged reads of bounded size, a bounded
/// number in flight across the silo (one storage account serves every Space recovering at once), each retried with
/// backoff; what it read stays cached for the Spaces that ask next. A read that fails fails only the Spaces that waited
/// on it, and what it had read stays: the next read goes on from there. Before it reads another silo's stream it asks
/// <see cref="IStreamFencing"/> to fence it if that silo is dead, so that what it reads is all that silo's journal ever
/// acknowledged (a stale writer that resumes cannot append after the read).
/// </summary>
/// <remarks>A Space asking joins the next read, not one already under way: a live stream (this silo's, or another live
/// silo's) may have grown since that one started, with records the Space needs. A fenced stream (its silo declared dead)
/// is the exception: its writer can append nothing after the fence, so a read that started after the fence holds every
/// record any Space asking later needs. Such a Space joins that read while it runs, or is answered from what it left in
/// the cache, with no storage request: the survivors of a crash read the dead stream once, not once per wave of Spaces
/// that ask.</remarks>
internal sealed partial class JournalReader : IDisposable
{
    private const int MaxRetryDelayMilliseconds = 5_000;

    private readonly IJournalStore _store;
    private readonly JournalOptions _options;
    private readonly QuotaInstruments _instruments;
    private readonly ILogger<JournalReader> _logger;
    private readonly JournalRuntime _runtime;
    private readonly IStreamFencing? _fencing;
    private readonly DeadStreamShare? _share;
    private readonly ReadTally _served = new();
    private long _bytesFromPeers;
    private readonly SemaphoreSlim _reads;
    private readonly Dictionary<string, CachedStream> _streams = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    /// <param name="runtime">Where its reads run and which clock its pauses and idle timer read (<see cref="JournalRuntime.Default"/>).</param>
    /// <param name="fencing">Fences a dead silo's stream before it is read (none: streams are read as they are, and
    /// every stream may grow).</param>
    /// <param name="share">Splits the reads of a fenced stream with the other silos recovering from it (none: this silo
    /// reads all of it from the store).</param>
    public JournalReader(IJournalStore store, IOptions<JournalOptions> options, QuotaInstruments instruments, ILogger<JournalReader> logger, JournalRuntime? runtime = null, IStreamFencing? fencing = null, DeadStreamShare? share = null)
    {
        _runtime = runtime ?? JournalRuntime.Default;
        _fencing = fencing;
        _share = share;
        _store = store;
        _options = options.Value;
        _instruments = instruments;
        _logger = logger;
        _reads = new SemaphoreSlim(_options.MaxRecoveryReadsInFlight, _options.MaxRecoveryReadsInFlight);
    }

    /// <summary>Bytes this silo's reader holds in its cache now.</summary>
    public long CachedBytes
    {
        get
        {
            lock (_streams)
            {
                return _streams.Values.Sum(s => s.CachedBytes);
            }
        }
    }

    /// <summary>Bytes of fenced streams this silo was given by the other silos that read them (<see cref="DeadStreamShare"/>).</summary>
    public long BytesFromPeers => Interlocked.Read(ref _bytesFromPeers);

    /// <summary>The records of <paramref name="spaceId"/> at or after <paramref name="from"/> in its stream, in stream
    /// order, as a read that started after this call found them. Fails with <see cref="QuotaUnavailableException"/> if
    /// that read failed.</summary>
    public Task<IReadOnlyList<JournalRecord>> ReadAsync(string spaceId, JournalPosition from, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(from);
        var waiter = new SpaceWaiter(spaceId, from);
        return Enqueue(from.Stream, waiter, cancellationToken);
    }

    /// <summary>The Spaces with records anywhere in <paramref name="stream"/> (retention: whose snapshots must move past
    /// it before it is deleted). The records stay cached for those Spaces' recovery.</summary>
    public Task<IReadOnlyList<string>> SpacesInAsync(string stream, CancellationToken cancellationToken)
    {
        var waiter = new SpacesWaiter(new JournalPosition(stream, 0, 0));
        return Enqueue(stream, waiter, cancellationToken);
    }

    /// <summary>Every record in <paramref name="stream"/>, each Space's in stream order (the notification recovery sweep:
    /// which Spaces have notification-bearing events there). The records stay cached for those Spaces' recovery.</summary>
    public Task<IReadOnlyList<JournalRecord>> RecordsInAsync(string stream, CancellationToken cancellationToken)
    {
        var waiter = new RecordsWaiter(new JournalPosition(stream, 0, 0));
        return Enqueue(stream, waiter, cancellationToken);
    }

    /// <summary>A range of a fenced stream's segment for another silo that recovers from it (<see cref="DeadStreamShare"/>):
    /// from this silo's own read of that range, or read from the store for it.</summary>
    public Task<byte[]> ServePeerAsync(string segment, long offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length <= 0 || length > _options.RecoveryReadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"A peer may ask for 1 to {_options.RecoveryReadBytes} bytes.");
        }

        Task<byte[]> FromStore(CancellationToken _) => ReadFromStoreAsync(segment, offset, length, _served, _stopping.Token);
        return _share is { } share ? share.ServeAsync(segment, offset, length, FromStore) : _runtime.Run(() => FromStore(CancellationToken.None));
    }

    /// <summary>Drops what is cached of <paramref name="stream"/> (its segments were deleted).</summary>
    public void Forget(string stream)
    {
        lock (_streams)
        {
            if (_streams.TryGetValue(stream, out var cached) && !cached.Busy)
            {
                _streams.Remove(stream);
            }
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private Task<T> Enqueue<T>(string streamName, Waiter<T> waiter, CancellationToken cancellationToken)
    {
        var start = false;
        CachedStream stream;
        lock (_streams)
        {
            if (!_streams.TryGetValue(streamName, out stream!))
            {
                _streams[streamName] = stream = new CachedStream(streamName);
            }

            stream.LastAsked = _runtime.Time.GetTimestamp();
            if (stream.Final is { } final && AtOrAfter(waiter.From, final))
            {
                // Read to its end after it was fenced: the cache is all there will be.
                waiter.Answer(stream);
            }
            else if (stream.Reading is { Final: true } reading && AtOrAfter(waiter.From, reading.From))
            {
                reading.Batch.Add(waiter);
            }
            else
            {
                stream.Waiting.Add(waiter);
                start = !stream.Busy;
                stream.Busy = true;
            }
        }

        if (start)
        {
            _ = _runtime.Run(() => ServeAsync(stream));
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(static w => ((Waiter)w!).Cancel(), waiter);
            // The registration ends with the wait, whichever way it ends.
            _ = waiter.Completion.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, _runtime.Scheduler);
        }

        return waiter.Completion.Task;
    }

    /// <summary>One read of the stream at a time; the Spaces that asked meanwhile are served by the next one (or by
    /// this one, if it started after the stream was fenced).</summary>
    private async Task ServeAsync(CachedStream stream)
    {
        while (true)
        {
            lock (_streams)
            {
                if (stream.Waiting.Count == 0)
                {
                    stream.Busy = false;
                    DropWhenIdle(stream);
                    return;
                }
            }

            // Fenced before the batch is taken: the read that follows starts after the fence, so it finds every record
            // the stream will ever have. Until it is fenced, a stream is decided again at each read: its silo may have
            // died since.
            Exception? fenceFailure = null;
            if (_fencing is not null && !stream.Fenced)
            {
                try
                {
                    stream.Fenced = await _fencing.FenceIfDeadAsync(stream.Name, _stopping.Token);
                }
                catch (Exception exception)
                {
                    fenceFailure = exception;
                }
            }

            var final = stream.Fenced;
            List<Waiter> batch;
            JournalPosition from;
            lock (_streams)
            {
                batch = stream.Waiting;
                stream.Waiting = [];

                // A fenced stream is read from its start: every Space of a dead silo comes to recover from it, each from
                // its own snapshot's position, and a read from the earliest one asked so far would leave the Spaces with
                // earlier positions to a wave each (five waves of 150-300 ms on one survivor after a crash).
                // Not once the stream was over the cache's bound: each wave would read all of it again.
                from = final && !stream.OverBudget
                    ? new JournalPosition(stream.Name, 0, 0)
                    : batch.Select(w => w.From).MinBy(p => (p.Segment, p.Offset))!;

                // A read may drop what is cached (deleted segments); the cache is final again only once it is done.
                stream.Final = null;
                stream.Reading = new Reading(from, final, batch);
            }

            var read = new ReadTally();
            var started = Stopwatch.GetTimestamp();
            try
            {
                if (fenceFailure is not null)
                {
                    throw fenceFailure;
                }

                await FillAsync(stream, from, final, read, _stopping.Token);
                lock (_streams)
                {
                    stream.Reading = null;
                    stream.Final = final ? from : null;
                    foreach (var waiter in batch)
                    {
                        waiter.Answer(stream);
                    }
                }

                LogStreamRead(stream.Name, read.Bytes, read.Requests, read.PeerBytes, read.PeerRanges, batch.Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, stream.CachedBytes, _served.Bytes);
            }
            catch (Exception exception)
            {
                LogStreamReadFailed(exception, stream.Name, read.Bytes, read.Requests, batch.Count);
                var failure = new QuotaUnavailableException(
                    $"Reading the journal stream '{stream.Name}' for recovery failed ({exception.GetType().Name}: {exception.Message}); the Space is not served. Retry with the same operation id.");
                lock (_streams)
                {
                    stream.Reading = null;
                    foreach (var waiter in batch)
                    {
                        waiter.Fail(failure);
                    }
                }
            }

            lock (_streams)
            {
                if (_streams.Values.Sum(s => s.CachedBytes) > _options.RecoveryCacheBytes)
                {
                    // Over budget: keep nothing of this stream; a Space that asks later reads what it needs again.
                    LogCacheDropped(stream.Name, stream.CachedBytes);
                    stream.OverBudget = true;
                    stream.Segments.Clear();
                    stream.Final = null;
                }
            }
        }
    }

    /// <summary>Makes the cache cover the stream from <paramref name="from"/> to its end as it is now.</summary>
    /// <remarks>When the newest cached segment is where the read goes on, its end is read beside the listing, not after
    /// it: a wave over a stream that did not grow (a dead silo's, while its Spaces recover) is then one round trip of a
    /// listing and one empty ranged read. Both start after every waiter asked, so what they find is the stream as of
    /// each one's ask. That early read only counts if the listing shows no later segment: with one, the segment is read
    /// on again after the listing, since a block may have landed in it after the early read and before the writer
    /// opened the next segment (the segment is then taken as final, see below).</remarks>
    /// <param name="fenced">The stream was fenced before this read: its ranges may be shared with the other silos that
    /// read it (<see cref="DeadStreamShare"/>).</param>
    private async Task FillAsync(CachedStream stream, JournalPosition from, bool fenced, ReadTally read, CancellationToken cancellationToken)
    {
        var early = StartTailRead(stream, from, fenced, read, cancellationToken);
        var listing = ListAsync(stream.Name, read, cancellationToken);

        // Both settle before anything goes on, whichever fails: no read of this wave may still run into the next one's.
        await Task.WhenAll(listing, early?.Read ?? Task.CompletedTask);
        var names = await listing;
        var segments = names.Select(n => (Name: n, Number: JournalPosition.SegmentNumberOf(n))).Where(s => s.Number >= 0).ToList();
        var earlyDone = early is { } tail && segments.Count > 0 && segments[^1].Number == tail.Number ? tail.Number : -1;
        lock (_streams)
        {
            // Deleted segments (retention) are not read again.
            foreach (var gone in stream.Segments.Keys.Where(k => !segments.Exists(s => s.Number == k)).ToList())
            {
                stream.Segments.Remove(gone);
            }
        }

        for (var i = 0; i < segments.Count; i++)
        {
            var (name, number) = segments[i];
            if (number < from.Segment)
            {
                continue;
            }

            var start = number == from.Segment ? from.Offset : 0;
            CachedSegment segment;
            lock (_streams)
            {
                if (!stream.Segments.TryGetValue(number, out segment!))
                {
                    stream.Segments[number] = segment = new CachedSegment(start);
                }
            }

            if (start < segment.Start)
            {
                // Records before what is cached: read up to it and put them in front (kept only once whole).
                var earlier = new CachedSegment(start);
                await ReadRangeAsync(name, earlier, segment.Start, fenced, read, cancellationToken);
                lock (_streams)
                {
                    segment.Prepend(earlier);
                }
            }

            if (!segment.Complete && number != earlyDone)
            {
                await ReadRangeAsync(name, segment, until: null, fenced, read, cancellationToken);

                // A writer appends only to its newest segment: one with a later segment beside it never grows again.
                segment.Complete = i < segments.Count - 1;
            }
        }
    }

    /// <summary>The read of the newest cached segment from its cached end, started before the listing, if the read goes
    /// on there: that segment is not final and <paramref name="from"/> lies in what is cached of it or before it in an
    /// earlier segment.</summary>
    private (int Number, Task Read)? StartTailRead(CachedStream stream, JournalPosition from, bool fenced, ReadTally read, CancellationToken cancellationToken)
    {
        int number;
        CachedSegment segment;
        lock (_streams)
        {
            if (stream.Segments.Count == 0)
            {
                return null;
            }

            (number, segment) = (stream.Segments.Keys[^1], stream.Segments.Values[^1]);
            if (segment.Complete || number < from.Segment || (number == from.Segment && from.Offset < segment.Start))
            {
                return null;
            }
        }

        var name = JournalPosition.SegmentNameOf(stream.Name, number);
        return (number, ReadRangeAsync(name, segment, until: null, fenced, read, cancellationToken));
    }

    /// <summary>Reads from <paramref name="segment"/>'s end on, to <paramref name="until"/> or to the end of the segment,
    /// in ranged reads with a few in flight; records go into <paramref name="segment"/> chunk by chunk, so that what was
    /// read stays if a later read fails. Where something is cached already, one read goes first and more follow only if it
    /// comes back full: reading on at a segment's end mostly finds little or nothing.</summary>
    private async Task ReadRangeAsync(string name, CachedSegment segment, long? until, bool fenced, ReadTally read, CancellationToken cancellationToken)
    {
        var size = _options.RecoveryReadBytes;
        var reads = new Queue<(long Offset, int Length, Task<byte[]> Data)>();
        var next = segment.End;
        var inFlight = segment.End > segment.Start ? 1 : _options.MaxRecoveryReadsInFlight;
        byte[] carried = [];
        try
        {
            while (true)
            {
                while (reads.Count < inFlight && (until is null || next < until))
                {
                    var length = until is { } end ? (int)Math.Min(size, end - next) : size;
                    reads.Enqueue((next, length, ReadChunkAsync(name, next, length, fenced, read, cancellationToken)));
                    next += length;
                }

                if (!reads.TryDequeue(out var chunk))
                {
                    return;
                }

                var data = await chunk.Data;
                if (data.Length == chunk.Length)
                {
                    inFlight = _options.MaxRecoveryReadsInFlight;
                }

                var buffer = carried.Length == 0 ? data : [.. carried, .. data];
                var bufferAt = chunk.Offset - carried.Length;
                var consumed = 0;
                var records = new List<(long Offset, JournalRecord Record)>();
                while (JournalRecord.TryDecode(buffer.AsMemory(consumed), out var record, out var recordLength))
                {
                    records.Add((bufferAt + consumed, record));
                    consumed += recordLength;
                }

                lock (_streams)
                {
                    segment.Append(records, bufferAt + consumed, data.Length);
                }

                carried = buffer[consumed..];
                if (data.Length < chunk.Length)
                {
                    // The segment's end (as of this read). Later reads in flight are not used: the stream may have grown
                    // between them, and the next read goes on from here.
                    if (carried.Length > 0)
                    {
                        LogTornTail(name, segment.End, carried.Length);
                    }

                    return;
                }
            }
        }
        finally
        {
            while (reads.TryDequeue(out var left))
            {
                await left.Data.ContinueWith(static t => _ = t.Exception, _runtime.Scheduler);
            }
        }
    }

    private Task<byte[]> ReadChunkAsync(string name, long offset, int length, bool fenced, ReadTally read, CancellationToken cancellationToken) =>
        fenced && _share is { } share
            ? share.ReadAsync(name, offset, length, _ => ReadFromStoreAsync(name, offset, length, read, cancellationToken), bytes => FromPeer(read, bytes), cancellationToken)
            : ReadFromStoreAsync(name, offset, length, read, cancellationToken);

    private void FromPeer(ReadTally read, int bytes)
    {
        read.AddFromPeer(bytes);
        Interlocked.Add(ref _bytesFromPeers, bytes);
    }

    private Task<byte[]> ReadFromStoreAsync(string name, long offset, int length, ReadTally read, CancellationToken cancellationToken) =>
        RetryAsync(
            async token =>
            {
                var data = await _store.ReadAsync(name, offset, length, token);
                read.Add(data.Length);
                _instruments.JournalRecoveryBytes.Add(data.Length);
                return data;
            },
            name,
            offset,
            read,
            cancellationToken);

    private Task<IReadOnlyList<string>> ListAsync(string stream, ReadTally read, CancellationToken cancellationToken) =>
        RetryAsync(
            async token =>
            {
                var names = await _store.ListSegmentsAsync(stream + "/", token);
                read.Add(0);
                return names;
            },
            stream,
            0,
            read,
            cancellationToken);

    /// <summary>One storage request of the reader: a slot of the silo's bound while it runs, tried
    /// <see cref="JournalOptions.RecoveryReadAttempts"/> times with a doubling pause between (no slot held).</summary>
    private async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> request, string name, long offset, ReadTally read, CancellationToken cancellationToken)
    {
        var delay = _options.RecoveryRetryDelay;
        for (var attempt = 1; ; attempt++)
        {
            await _runtime.WaitAsync(_reads, cancellationToken);
            try
            {
                return await request(cancellationToken);
            }
            catch (Exception exception) when (attempt < _options.RecoveryReadAttempts && !cancellationToken.IsCancellationRequested)
            {
                read.Add(0);
                LogReadRetried(exception, name, offset, attempt);
            }
            finally
            {
                _reads.Release();
            }

            await Task.Delay(delay, _runtime.Time, cancellationToken);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, MaxRetryDelayMilliseconds));
        }
    }

    private void DropWhenIdle(CachedStream stream)
    {
        var asked = stream.LastAsked;
        _ = Task.Delay(_options.RecoveryCacheIdle, _runtime.Time, _stopping.Token).ContinueWith(
            t =>
            {
                if (t.IsCanceled)
                {
                    return;
                }

                lock (_streams)
                {
                    if (!stream.Busy && stream.LastAsked == asked && _streams.TryGetValue(stream.Name, out var current) && current == stream)
                    {
                        _streams.Remove(stream.Name);
                    }
                }
            },
            _runtime.Scheduler);
    }

    [LoggerMessage(201, LogLevel.Information, "Journal reader: stream {Stream} read for {Waiters} recovering Space(s): {Bytes} bytes in {Requests} storage requests and {PeerBytes} bytes in {PeerRanges} ranges from other silos, {Milliseconds} ms; {Cached} bytes cached; {Served} bytes read from the store for other silos in all.")]
    private partial void LogStreamRead(string stream, long bytes, int requests, long peerBytes, int peerRanges, int waiters, long milliseconds, long cached, long served);

    [LoggerMessage(202, LogLevel.Warning, "Journal reader: reading stream {Stream} failed after {Bytes} bytes in {Requests} requests; the {Waiters} Space(s) waiting on it fail, the next read goes on from where this one stopped.")]
    private partial void LogStreamReadFailed(Exception exception, string stream, long bytes, int requests, int waiters);

    [LoggerMessage(203, LogLevel.Warning, "Journal reader: reading {Segment} at {Offset} failed (attempt {Attempt}); retrying.")]
    private partial void LogReadRetried(Exception exception, string segment, long offset, int attempt);

    [LoggerMessage(204, LogLevel.Warning, "Journal reader: the cache is over its bound; the {Bytes} cached bytes of stream {Stream} are dropped.")]
    private partial void LogCacheDropped(string stream, long bytes);

    [LoggerMessage(205, LogLevel.Warning, "Journal reader: {Segment} ends at {Offset} with {Bytes} bytes that are no whole record; they are not replayed.")]
    private partial void LogTornTail(string segment, long offset, int bytes);

    /// <summary>Storage requests and bytes of one read of a stream, and what other silos gave it (for its log line).</summary>
    private sealed class ReadTally
    {
        private long _bytes;
        private int _requests;
        private long _peerBytes;
        private int _peerRanges;

        public long Bytes => Interlocked.Read(ref _bytes);

        public int Requests => Volatile.Read(ref _requests);

        public long PeerBytes => Interlocked.Read(ref _peerBytes);

        public int PeerRanges => Volatile.Read(ref _peerRanges);

        public void AddFromPeer(int bytes)
        {
            Interlocked.Add(ref _peerBytes, bytes);
            Interlocked.Increment(ref _peerRanges);
        }

        public void Add(int bytes)
        {
            Interlocked.Add(ref _bytes, bytes);
            Interlocked.Increment(ref _requests);
        }
    }

    private static bool AtOrAfter(JournalPosition position, JournalPosition start) =>
        position.Segment > start.Segment || (position.Segment == start.Segment && position.Offset >= start.Offset);

    /// <summary>A read under way: from where, whether it started after the stream was fenced, and the
    /// waiters it will answer (it takes in others while it runs only if it did).</summary>
    private sealed record Reading(JournalPosition From, bool Final, List<Waiter> Batch);

    /// <summary>What is cached of one stream, and who waits for its next read. Guarded by the reader's lock.</summary>
    private sealed class CachedStream(string name)
    {
        public string Name { get; } = name;

        public SortedList<int, CachedSegment> Segments { get; } = [];

        public List<Waiter> Waiting { get; set; } = [];

        public bool Busy { get; set; }

        /// <summary>Fenced before a read: its writer can append nothing more.</summary>
        public bool Fenced { get; set; }

        /// <summary>Its cache was dropped for the reader's bound: reads go from the earliest position asked, not from the
        /// stream's start.</summary>
        public bool OverBudget { get; set; }

        public Reading? Reading { get; set; }

        /// <summary>Set once a read that started after the stream was fenced is done: from there on, the cache holds the
        /// stream to its end for good.</summary>
        public JournalPosition? Final { get; set; }

        public long LastAsked { get; set; }

        public long CachedBytes => Segments.Values.Sum(s => s.Bytes);
    }

    /// <summary>The cached part of one segment: its records from <see cref="Start"/> to <see cref="End"/>, by Space.</summary>
    private sealed class CachedSegment(long start)
    {
        public long Start { get; private set; } = start;

        /// <summary>Where the next read goes on: the end of the last whole record read.</summary>
        public long End { get; private set; } = start;

        /// <summary>Read to its end, and it cannot grow any more.</summary>
        public bool Complete { get; set; }

        public long Bytes { get; private set; }

        public Dictionary<string, List<(long Offset, JournalRecord Record)>> BySpace { get; private set; } = new(StringComparer.Ordinal);

        public void Append(List<(long Offset, JournalRecord Record)> records, long end, int bufferBytes)
        {
            foreach (var (offset, record) in records)
            {
                if (!BySpace.TryGetValue(record.SpaceId, out var list))
                {
                    BySpace[record.SpaceId] = list = [];
                }

                list.Add((offset, record));
            }

            End = end;
            Bytes += bufferBytes;
        }

        public void Prepend(CachedSegment earlier)
        {
            foreach (var (space, records) in BySpace)
            {
                if (earlier.BySpace.TryGetValue(space, out var list))
                {
                    list.AddRange(records);
                }
                else
                {
                    earlier.BySpace[space] = records;
                }
            }

            BySpace = earlier.BySpace;
            Start = earlier.Start;
            Bytes += earlier.Bytes;
        }
    }

    private abstract class Waiter(JournalPosition from)
    {
        public JournalPosition From { get; } = from;

        /// <summary>Completes the waiter from the cache, which now covers its range (called under the reader's lock).</summary>
        public abstract void Answer(CachedStream stream);

        public abstract void Fail(Exception exception);

        public abstract void Cancel();
    }

    private abstract class Waiter<T>(JournalPosition from) : Waiter(from)
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Fail(Exception exception) => Completion.TrySetException(exception);

        public override void Cancel() => Completion.TrySetCanceled();
    }

    /// <summary>A recovering Space: its records at or after its snapshot's position, in stream order.</summary>
    private sealed class SpaceWaiter(string spaceId, JournalPosition from) : Waiter<IReadOnlyList<JournalRecord>>(from)
    {
        public override void Answer(CachedStream stream)
        {
            var records = new List<JournalRecord>();
            foreach (var (number, segment) in stream.Segments)
            {
                if (number < From.Segment || !segment.BySpace.TryGetValue(spaceId, out var list))
                {
                    continue;
                }

                var from = number == From.Segment ? From.Offset : 0;
                foreach (var (offset, record) in list)
                {
                    if (offset >= from)
                    {
                        records.Add(record);
                    }
                }
            }

            Completion.TrySetResult(records);
        }
    }

    /// <summary>The notification recovery sweep: every record in the stream (copied: the cache may change after).</summary>
    private sealed class RecordsWaiter(JournalPosition from) : Waiter<IReadOnlyList<JournalRecord>>(from)
    {
        public override void Answer(CachedStream stream) =>
            Completion.TrySetResult(stream.Segments.Values.SelectMany(s => s.BySpace.Values).SelectMany(l => l).Select(r => r.Record).ToList());
    }

    /// <summary>Retention: every Space with records in the stream.</summary>
    private sealed class SpacesWaiter(JournalPosition from) : Waiter<IReadOnlyList<string>>(from)
    {
        public override void Answer(CachedStream stream) =>
            Completion.TrySetResult(stream.Segments.Values.SelectMany(s => s.BySpace.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList());
    }
}
