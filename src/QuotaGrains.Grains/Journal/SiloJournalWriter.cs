using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Journal;

/// <summary>
/// The silo-wide journal writer: Spaces hand it records, it appends them in blocks (group commit across Spaces) to
/// its own stream of segments, a few appends in flight at computed offsets. A waiter hears "durable" only when its
/// block and every earlier block are acknowledged; when an append fails, its waiters and those of every later block
/// in flight fail (outcome unknown), and the writer rolls to a fresh segment. A sealed segment (another silo fenced this
/// stream: the cluster declared this silo dead, <see cref="JournalFence"/>) stops it for good: nothing more is written
/// or acknowledged, and it never rolls past the fence.
/// </summary>
/// <remarks>A failed append may still be carried out by the storage later (a timeout: the request reached it), at the
/// offset it named. So the writer seals the segment where an append failed before it answers the failure, and opens the
/// next segment only once that seal succeeded: a block that lands late could otherwise be read by one recovery of its
/// Space and not by another that read the segment before, and with two owners (a silo declared dead that still runs)
/// the one that missed it could write its snapshot over it after the other had shown it (seen in the simulation, seed
/// 3570). Sealed, the segment is final before the failed Space's next activation reads it.</remarks>
internal sealed partial class SiloJournalWriter : IJournalWriter, IAsyncDisposable
{
    private readonly IJournalStore _store;
    private readonly SpaceRecordCodec? _codec;
    private readonly JournalOptions _options;
    private readonly QuotaInstruments _instruments;
    private readonly ILogger<SiloJournalWriter> _logger;
    private readonly JournalRuntime _runtime;
    private readonly Channel<PendingRecord> _queue = Channel.CreateUnbounded<PendingRecord>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _slots;
    private readonly Queue<Block> _inFlight = new();
    private readonly Dictionary<int, HashSet<string>> _segmentSpaces = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();

    private Task _loop = Task.CompletedTask;
    private int _segment = -1;
    private long _nextOffset;
    private int _blocksInSegment;
    private volatile bool _rollNeeded = true;
    private JournalPosition _durableTail;
    private int _queued;
    private int _fenced;
    // The segment this writer sealed itself after an append in it failed, and that seal (true once it succeeded).
    private int _sealedSegment = -1;
    private Task<bool> _seal = Task.FromResult(true);

    /// <param name="codec">How a Space's events become a record (needed by <see cref="AppendAsync(string, IReadOnlyList{SpaceEvent})"/>;
    /// a journal fed raw records needs none).</param>
    /// <param name="runtime">Where its loop runs and which clock its timeouts read (<see cref="JournalRuntime.Default"/>).</param>
    public SiloJournalWriter(IJournalStore store, string stream, IOptions<JournalOptions> options, QuotaInstruments instruments, ILogger<SiloJournalWriter> logger, SpaceRecordCodec? codec = null, JournalRuntime? runtime = null)
    {
        _runtime = runtime ?? JournalRuntime.Default;
        _store = store;
        _codec = codec;
        Stream = stream;
        _options = options.Value;
        _instruments = instruments;
        _logger = logger;
        _slots = new SemaphoreSlim(_options.MaxAppendsInFlight, _options.MaxAppendsInFlight);
        _durableTail = new JournalPosition(stream, 0, 0);
    }

    /// <summary>This writer's stream; segments are named <c>{Stream}/{segment:D8}</c>.</summary>
    public string Stream { get; }

    public IJournalStore Store => _store;

    /// <summary>The end of the last acknowledged block, or after a failed append the start of the next segment. Every
    /// record handed in after reading it lands after it.</summary>
    public JournalPosition DurableTail
    {
        get
        {
            lock (_lock)
            {
                return _durableTail;
            }
        }
    }

    public int QueueDepth => Volatile.Read(ref _queued);

    /// <summary>Whether the segment where an append failed is sealed before the failure is answered (see the remarks).
    /// Off only in the simulation, to show what the seal prevents (seed 3570).</summary>
    public bool SealsAfterFailure { get; init; } = true;

    /// <summary>Another silo fenced this stream (the cluster declared this silo dead): every append fails from now on.</summary>
    public bool IsFenced => Volatile.Read(ref _fenced) != 0;

    public void Start() => _loop = _runtime.Run(() => RunAsync(_stopping.Token));

    /// <inheritdoc/>
    public Task<JournalPosition> AppendAsync(string spaceId, IReadOnlyList<SpaceEvent> events) =>
        AppendAsync(spaceId, (_codec ?? throw new InvalidOperationException("This journal has no record codec.")).Encode(spaceId, events));

    /// <summary>Completes when the record is in an acknowledged block (and every earlier block is too), with the
    /// position of that block's start: every later record of the same writer lands after it.</summary>
    public Task<JournalPosition> AppendAsync(string spaceId, byte[] record)
    {
        if (IsFenced)
        {
            return Task.FromException<JournalPosition>(FencedError());
        }

        var pending = new PendingRecord(spaceId, record);
        if (!_queue.Writer.TryWrite(pending))
        {
            return Task.FromException<JournalPosition>(new QuotaUnavailableException("The journal is stopped."));
        }

        Interlocked.Increment(ref _queued);
        return pending.Completion.Task;
    }

    /// <summary>A Space wrote a snapshot at <paramref name="position"/>: earlier segments no longer hold it back.</summary>
    public void ReleaseBefore(string spaceId, JournalPosition position)
    {
        if (position.Stream != Stream)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var (segment, spaces) in _segmentSpaces)
            {
                if (segment < position.Segment)
                {
                    spaces.Remove(spaceId);
                }
            }
        }
    }

    /// <summary>Closed segments of this stream, each with the Spaces whose records in it are not yet in a snapshot.</summary>
    public IReadOnlyList<(int Segment, IReadOnlyList<string> Spaces)> ClosedSegments()
    {
        lock (_lock)
        {
            return _segmentSpaces.Where(s => s.Key < _segment).OrderBy(s => s.Key)
                .Select(s => (s.Key, (IReadOnlyList<string>)s.Value.ToList())).ToList();
        }
    }

    public void ForgetSegment(int segment)
    {
        lock (_lock)
        {
            _segmentSpaces.Remove(segment);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(_options.AppendTimeout * 2, _runtime.Time);
        }
        catch (TimeoutException)
        {
            // Waiters of blocks still unacknowledged are failed below: their outcome is unknown.
        }

        _stopping.Cancel();
        while (_queue.Reader.TryRead(out var left))
        {
            left.Completion.TrySetException(new QuotaUnavailableException("The journal stopped before this record was written."));
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        var batch = new List<PendingRecord>();
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                await _runtime.WaitAsync(_slots, cancellationToken);
                batch.Clear();
                var bytes = 0;
                while (batch.Count < _options.MaxRecordsPerBlock && reader.TryPeek(out var next)
                    && (batch.Count == 0 || bytes + next.Record.Length <= _options.MaxBlockBytes))
                {
                    reader.TryRead(out next);
                    batch.Add(next!);
                    bytes += next!.Record.Length;
                }

                Interlocked.Add(ref _queued, -batch.Count);
                if (IsFenced)
                {
                    Fail(batch, FencedError());
                    _slots.Release();
                    continue;
                }

                if (_rollNeeded || _blocksInSegment >= _options.MaxBlocksPerSegment)
                {
                    // A reader takes a segment with a later one beside it as final: the blocks still in flight in this
                    // one are answered before the next segment exists (those failed already are answered).
                    Block[] pending;
                    lock (_lock)
                    {
                        pending = _inFlight.ToArray();
                    }

                    foreach (var unanswered in pending)
                    {
                        await unanswered.Done.Task;
                    }

                    // Nor before the segment where an append failed is sealed: then no late block can land in it.
                    if (!await SealAfterFailureAsync(_sealedSegment == _segment ? _segment : -1))
                    {
                        Fail(batch, new QuotaUnavailableException("The journal could not seal the segment where an append failed; nothing was written."));
                        _slots.Release();
                        continue;
                    }

                    if (!await RollAsync(cancellationToken))
                    {
                        Fail(batch, IsFenced ? FencedError() : new QuotaUnavailableException("The journal could not open a segment; nothing was written."));
                        _slots.Release();
                        continue;
                    }
                }

                var data = new byte[bytes];
                var at = 0;
                foreach (var record in batch)
                {
                    record.Record.CopyTo(data, at);
                    at += record.Record.Length;
                }

                var block = new Block(_segment, _nextOffset, data.Length, batch.ToArray());
                Block? previous;
                _nextOffset += data.Length;
                _blocksInSegment++;
                lock (_lock)
                {
                    // The block before it in the same segment, if still unanswered: an append that reaches the store
                    // before that one landed is sent again once it is answered.
                    previous = _inFlight.LastOrDefault() is { } last && last.Segment == block.Segment ? last : null;
                    _inFlight.Enqueue(block);
                }

                _ = AppendBlockAsync(block, data, previous);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task<bool> RollAsync(CancellationToken cancellationToken)
    {
        var next = _segment + 1;
        try
        {
            using var deadline = new CancellationTokenSource(_options.AppendTimeout, _runtime.Time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            await _store.CreateSegmentAsync(JournalPosition.SegmentNameOf(Stream, next), timeout.Token);
        }
        catch (JournalFencedException e)
        {
            // The segment after ours is a fence (or sealed): never go past it.
            Fenced(e);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSegmentFailed(e, Stream, next);
            return false;
        }

        _segment = next;
        _nextOffset = 0;
        _blocksInSegment = 0;
        _rollNeeded = false;
        LogSegmentOpened(Stream, next);
        return true;
    }

    private async Task AppendBlockAsync(Block block, byte[] data, Block? previous)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var span = StartAppendSpan(block);
        try
        {
            using var timeout = new CancellationTokenSource(_options.AppendTimeout, _runtime.Time);
            var segment = JournalPosition.SegmentNameOf(Stream, block.Segment);
            while (true)
            {
                try
                {
                    await _store.AppendAsync(segment, block.Offset, data, timeout.Token);
                    break;
                }
                catch (JournalAppendTooEarlyException) when (previous is not null)
                {
                    // Processed before the block sent ahead of it: wait until that one is answered, then send this one
                    // again (the offset condition lets it land only right after it). If that one failed, so does this.
                    // (A continuation rather than WaitAsync: its cancellation does not pass through the thread pool.)
                    await previous.Done.Task.ContinueWith(static _ => { }, timeout.Token, TaskContinuationOptions.None, _runtime.Scheduler);
                    if (previous.Error is { } earlier)
                    {
                        throw new QuotaUnavailableException("An earlier journal block failed; this one was not written.", earlier);
                    }

                    previous = null;
                }
            }

            _instruments.JournalAppendDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            _instruments.JournalBlockRecords.Record(block.Records.Length);
        }
        catch (JournalFencedException e) when (block.Segment > Volatile.Read(ref _sealedSegment))
        {
            block.Error = e;
            Fenced(e);
        }
        catch (Exception e)
        {
            // (Also a block refused by the seal this writer put on its segment after a block there failed: one sent
            // before that, or still in flight behind it, answered already, as the writer went on to the next segment.)
            block.Error = e;
            LogAppendFailed(e, Stream, block.Segment, block.Offset, block.Records.Length);
        }
        finally
        {
            if (block.Error is not null && !IsFenced)
            {
                // Before the failure is answered (below, and the blocks in flight behind it with it).
                await SealAfterFailureAsync(block.Segment);
            }

            block.Finished = true;
            AppendEnded(block, span);
            block.Done.TrySetResult();
            _slots.Release();
            CompleteInOrder();
        }
    }

    /// <summary>Answers blocks strictly in order; after a failure every later block in flight fails too.</summary>
    private void CompleteInOrder()
    {
        List<(Block Block, Exception? Error)>? answers = null;
        lock (_lock)
        {
            Exception? failure = null;
            while (_inFlight.TryPeek(out var head) && (head.Finished || failure is not null))
            {
                if (!head.Finished)
                {
                    // A later block still in flight after a failure: its outcome is unknown; answer it now.
                    head.Error ??= failure;
                }

                _inFlight.Dequeue();
                failure ??= head.Error;
                if (failure is null)
                {
                    _durableTail = new JournalPosition(Stream, head.Segment, head.Offset + head.Length);
                    if (!_segmentSpaces.TryGetValue(head.Segment, out var spaces))
                    {
                        _segmentSpaces[head.Segment] = spaces = new HashSet<string>(StringComparer.Ordinal);
                    }

                    foreach (var record in head.Records)
                    {
                        spaces.Add(record.SpaceId);
                    }
                }
                else
                {
                    _rollNeeded = true;

                    // A failed block may still land (a timed-out append the storage carries out later) at the offset it
                    // named. Nothing more is written to this segment; the tail moves to the next one, so that a Space
                    // recovering now (its snapshot before its first append names the tail) never reads this segment's
                    // rest again, where such a block would stand in front of the Space's own records of the same numbers.
                    _durableTail = new JournalPosition(Stream, _segment + 1, 0);
                }

                (answers ??= []).Add((head, failure));
            }
        }

        if (answers is null)
        {
            return;
        }

        foreach (var (block, error) in answers)
        {
            if (error is null)
            {
                var start = new JournalPosition(Stream, block.Segment, block.Offset);
                foreach (var record in block.Records)
                {
                    record.Completion.TrySetResult(start);
                }
            }
            else
            {
                Fail(block.Records, IsFenced ? FencedError() : new QuotaUnavailableException("A journal append failed; the outcome is unknown. Retry with the same operation id.", error));
            }
        }
    }

    /// <summary>Seals <paramref name="segment"/>, where an append failed (-1: none), once: later callers share the seal, and
    /// one that failed is tried again. False if it failed: then the segment may still receive a late block. A segment
    /// before the last one sealed was sealed before the writer left it.</summary>
    private async Task<bool> SealAfterFailureAsync(int segment)
    {
        if (segment < 0 || !SealsAfterFailure)
        {
            return true;
        }

        Task<bool>? shared = null;
        TaskCompletionSource<bool>? mine = null;
        lock (_lock)
        {
            if (segment < _sealedSegment)
            {
                return true;
            }

            if (_sealedSegment == segment && (!_seal.IsCompleted || _seal.Result))
            {
                shared = _seal;
            }
            else
            {
                mine = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                _seal = mine.Task;
                Volatile.Write(ref _sealedSegment, segment);
            }
        }

        if (shared is not null)
        {
            return await shared;
        }

        var done = await SealAsync(segment);
        mine!.SetResult(done);
        return done;
    }

    private async Task<bool> SealAsync(int segment)
    {
        try
        {
            using var deadline = new CancellationTokenSource(_options.AppendTimeout, _runtime.Time);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, deadline.Token);
            await _store.SealSegmentAsync(JournalPosition.SegmentNameOf(Stream, segment), timeout.Token);
            LogSegmentSealed(Stream, segment);
            return true;
        }
        catch (Exception e)
        {
            LogSealFailed(e, Stream, segment);
            return false;
        }
    }

    /// <summary>The store refused a write because this stream is fenced: stop for good (logged once).</summary>
    private void Fenced(JournalFencedException e)
    {
        if (Interlocked.Exchange(ref _fenced, 1) == 0)
        {
            LogFenced(e, Stream);
        }
    }

    private static QuotaUnavailableException FencedError() =>
        new("This silo's journal was fenced by the cluster (it declared this silo dead); nothing more is written here. The outcome is unknown: retry with the same operation id.");

    private static void Fail(IEnumerable<PendingRecord> records, Exception error)
    {
        foreach (var record in records)
        {
            record.Completion.TrySetException(error);
        }
    }

    [LoggerMessage(401, LogLevel.Information, "Journal {Stream}: segment {Segment} opened.")]
    private partial void LogSegmentOpened(string stream, int segment);

    [LoggerMessage(402, LogLevel.Error, "Journal {Stream}: opening segment {Segment} failed.")]
    private partial void LogSegmentFailed(Exception exception, string stream, int segment);

    [LoggerMessage(403, LogLevel.Error, "Journal {Stream}: append of {Records} records at segment {Segment} offset {Offset} failed; waiters fail closed.")]
    private partial void LogAppendFailed(Exception exception, string stream, int segment, long offset, int records);

    [LoggerMessage(404, LogLevel.Error, "Journal {Stream}: this silo's journal was fenced by the cluster; it was declared dead. Every pending and later append fails (outcome unknown); nothing more is acknowledged by this silo.")]
    private partial void LogFenced(Exception exception, string stream);

    [LoggerMessage(405, LogLevel.Warning, "Journal {Stream}: segment {Segment} sealed after an append in it failed; no block given up on can land in it later. The next append opens a new segment.")]
    private partial void LogSegmentSealed(string stream, int segment);

    [LoggerMessage(406, LogLevel.Error, "Journal {Stream}: sealing segment {Segment} after an append in it failed did not succeed; the writer opens no new segment until it does.")]
    private partial void LogSealFailed(Exception exception, string stream, int segment);

    private sealed class PendingRecord(string spaceId, byte[] record)
    {
        public string SpaceId { get; } = spaceId;

        public byte[] Record { get; } = record;

        /// <summary>The span of the request that handed it in, if recorded (the block's append span follows it).</summary>
        public System.Diagnostics.Activity? Caller { get; } = RecordedCaller();

        public TaskCompletionSource<JournalPosition> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Block(int segment, long offset, int length, PendingRecord[] records)
    {
        public int Segment { get; } = segment;

        public long Offset { get; } = offset;

        public int Length { get; } = length;

        public PendingRecord[] Records { get; } = records;

        public volatile bool Finished;

        public Exception? Error;

        /// <summary>Completes when this block's append is over (landed or failed; <see cref="Error"/> says which).</summary>
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
