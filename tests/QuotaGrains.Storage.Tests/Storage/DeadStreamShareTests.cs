using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The survivors of a crash split the read of the dead silo's stream: each of its ranges comes from the store
/// once in all, and every survivor still gets every record. A survivor that does not answer costs one ask, then its
/// ranges are read from the store; a live stream is never shared.</summary>
public sealed class DeadStreamShareTests : IAsyncLifetime
{
    private const string Stream = "svc/dead";
    private const int RangeBytes = 4 * 1024;
    private static readonly SiloAddress A = SiloAddress.New(IPAddress.Loopback, 11111, 7);
    private static readonly SiloAddress B = SiloAddress.New(IPAddress.Loopback, 11112, 7);

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MemoryJournalStore _store = new();
    private QuotaInstruments _instruments = null!;
    private Dictionary<string, List<long>> _written = null!;
    private long _streamBytes;

    public async Task InitializeAsync()
    {
        _instruments = new QuotaInstruments(_services.GetRequiredService<IMeterFactory>());
        _written = [];
        await using (var journal = new SiloJournalWriter(
            _store, Stream, Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxRecordsPerBlock = 8 }), _instruments, NullLogger<SiloJournalWriter>.Instance))
        {
            journal.Start();
            for (var i = 0; i < 800; i++)
            {
                var space = $"s{i % 40}";
                var sequence = (i / 40) + 1L;
                await journal.AppendAsync(space, JournalRecord.Encode(space, sequence, 1, new byte[150]));
                (_written.TryGetValue(space, out var list) ? list : _written[space] = []).Add(sequence);
            }
        }

        foreach (var segment in await _store.ListSegmentsAsync(Stream + "/", CancellationToken.None))
        {
            _streamBytes += (await _store.ReadAsync(segment, 0, int.MaxValue, CancellationToken.None)).Length;
        }

        Assert.True(_streamBytes > 20 * RangeBytes, $"the stream is {_streamBytes} bytes: too few ranges to split");
    }

    public async Task DisposeAsync()
    {
        _instruments.Dispose();
        await _services.DisposeAsync();
    }

    [Fact]
    public async Task Two_survivors_read_each_range_from_the_store_once_in_all_and_both_get_every_record()
    {
        var (a, b) = (new Survivor(this, A), new Survivor(this, B));
        a.Peers.Ask = (_, segment, offset, length) => b.Reader.ServePeerAsync(segment, offset, length);
        b.Peers.Ask = (_, segment, offset, length) => a.Reader.ServePeerAsync(segment, offset, length);

        await Task.WhenAll(a.Reader.SpacesInAsync(Stream, CancellationToken.None), b.Reader.SpacesInAsync(Stream, CancellationToken.None));

        await a.AssertEveryRecordAsync();
        await b.AssertEveryRecordAsync();
        Assert.Equal(_streamBytes, a.Store.BytesRead + b.Store.BytesRead);
        Assert.Equal(_streamBytes, a.Reader.BytesFromPeers + b.Reader.BytesFromPeers);
        Assert.InRange(a.Reader.BytesFromPeers, _streamBytes / 3, 2 * _streamBytes / 3);
        Assert.Equal((0, 0), (a.Share.SharedRanges, b.Share.SharedRanges));
        a.Reader.Dispose();
        b.Reader.Dispose();
    }

    [Fact]
    public async Task A_survivor_that_fails_to_answer_is_asked_nothing_more_for_the_stream_and_its_ranges_are_read_here()
    {
        var a = new Survivor(this, A);
        a.Peers.Ask = (_, _, _, _) => Task.FromException<byte[]>(new TimeoutException("the peer's silo is gone"));

        await a.Reader.SpacesInAsync(Stream, CancellationToken.None);

        await a.AssertEveryRecordAsync();
        Assert.Equal(_streamBytes, a.Store.BytesRead);
        Assert.Equal(0, a.Reader.BytesFromPeers);
        Assert.InRange(a.Peers.Asks, 1, 2);
        a.Reader.Dispose();
    }

    [Fact]
    public async Task A_survivor_that_never_answers_is_waited_for_the_peer_timeout_then_the_range_is_read_here()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        // One range in flight: the first range of the peer's is asked, and nothing after it until it is answered.
        var a = new Survivor(this, A, new JournalRuntime(time, TaskScheduler.Default), inFlight: 1);
        var never = new TaskCompletionSource<byte[]>();
        a.Peers.Ask = (_, _, _, _) => never.Task;

        var read = a.Reader.SpacesInAsync(Stream, CancellationToken.None);
        await Eventually.TrueAsync(() => a.Peers.Asks == 1);
        time.Advance(new JournalOptions().PeerReadTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(read.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(40, (await read).Count);
        await a.AssertEveryRecordAsync();
        Assert.Equal(_streamBytes, a.Store.BytesRead);
        Assert.Equal(1, a.Peers.Asks);
        a.Reader.Dispose();
    }

    [Fact]
    public async Task Turned_off_or_on_a_live_stream_every_range_is_read_here_and_no_survivor_is_asked()
    {
        var off = new Survivor(this, A, share: false);
        var live = new Survivor(this, B, dead: false);

        await Task.WhenAll(off.Reader.SpacesInAsync(Stream, CancellationToken.None), live.Reader.SpacesInAsync(Stream, CancellationToken.None));

        await off.AssertEveryRecordAsync();
        await live.AssertEveryRecordAsync();
        Assert.Equal((_streamBytes, _streamBytes), (off.Store.BytesRead, live.Store.BytesRead));
        Assert.Equal((0, 0), (off.Peers.Asks, live.Peers.Asks));
        off.Reader.Dispose();
        live.Reader.Dispose();
    }

    [Fact]
    public void The_ranges_alternate_between_the_readers_and_only_the_readers_standard_ranges_are_shared()
    {
        var share = new Survivor(this, A).Share;
        var segment = JournalPosition.SegmentNameOf(Stream, 1);

        var owners = Enumerable.Range(0, 6).Select(i => share.OwnerOf(segment, i * (long)RangeBytes, RangeBytes)).ToList();
        Assert.Equal([B, A, B, A, B, A], owners);
        Assert.Equal(A, share.OwnerOf(JournalPosition.SegmentNameOf(Stream, 2), 0, RangeBytes));
        Assert.Null(share.OwnerOf(segment, 100, RangeBytes));
        Assert.Null(share.OwnerOf(segment, 0, RangeBytes / 2));

        var alone = new Survivor(this, A, readers: [A]).Share;
        Assert.Null(alone.OwnerOf(segment, 0, RangeBytes));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(301)]
    public void The_peer_timeout_is_validated(int seconds) =>
        Assert.Contains(new JournalOptions { PeerReadTimeout = TimeSpan.FromSeconds(seconds) }.Validate(), e => e.Contains("PeerReadTimeout", StringComparison.Ordinal));

    /// <summary>One silo's reader over the shared store, with its own counts and its own view of its peers.</summary>
    private sealed class Survivor
    {
        private readonly DeadStreamShareTests _test;

        public Survivor(DeadStreamShareTests test, SiloAddress self, JournalRuntime? runtime = null, bool share = true, bool dead = true, SiloAddress[]? readers = null, int inFlight = 4)
        {
            _test = test;
            Store = new CountingStore(test._store);
            Peers = new Peers(self, readers ?? [A, B]);
            var options = Microsoft.Extensions.Options.Options.Create(new JournalOptions { RecoveryReadBytes = RangeBytes, ShareDeadStreamReads = share, MaxRecoveryReadsInFlight = inFlight });
            Share = new DeadStreamShare(Peers, options, NullLogger<DeadStreamShare>.Instance, runtime);
            Reader = new JournalReader(
                Store,
                options,
                test._instruments,
                NullLogger<JournalReader>.Instance,
                runtime,
                new DelegateStreamFencing(test._store, _ => dead),
                Share);
        }

        public CountingStore Store { get; }

        public Peers Peers { get; }

        public DeadStreamShare Share { get; }

        public JournalReader Reader { get; }

        public async Task AssertEveryRecordAsync()
        {
            foreach (var (space, sequences) in _test._written)
            {
                var records = await Reader.ReadAsync(space, new JournalPosition(Stream, 0, 0), CancellationToken.None);
                Assert.Equal(sequences, records.Select(r => r.FirstSequence));
                Assert.All(records, r => Assert.Equal(space, r.SpaceId));
            }
        }
    }

    private sealed class Peers(SiloAddress self, IReadOnlyList<SiloAddress> readers) : IJournalPeers
    {
        private int _asks;

        public Func<SiloAddress, string, long, int, Task<byte[]>> Ask { get; set; } = (_, _, _, _) => throw new InvalidOperationException("no peer here");

        public int Asks => Volatile.Read(ref _asks);

        public SiloAddress Self => self;

        public IReadOnlyList<SiloAddress> Readers() => readers;

        public Task<byte[]> ReadAsync(SiloAddress peer, string segment, long offset, int length)
        {
            Interlocked.Increment(ref _asks);
            return Ask(peer, segment, offset, length);
        }
    }

    /// <summary>The bytes one reader got from the store.</summary>
    private sealed class CountingStore(IJournalStore inner) : DelegatingJournalStore(inner)
    {
        private long _bytes;

        public long BytesRead => Interlocked.Read(ref _bytes);

        public override async Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
        {
            var data = await base.ReadAsync(segment, offset, maxBytes, cancellationToken);
            Interlocked.Add(ref _bytes, data.Length);
            return data;
        }
    }
}
