using System.Collections.Immutable;
using System.Diagnostics.Metrics;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>A survivor starts reading a crashed silo's stream when it learns of the death, before any of that silo's
/// Spaces asks: the read is fenced, and the Spaces that come to recover are answered from it with no storage request.
/// A silo that stopped gracefully, or that was dead before, is left to retention.</summary>
public sealed class DeadStreamPrefetchTests : IDisposable
{
    private static readonly SiloAddress Self = SiloAddress.New(IPAddress.Loopback, 11111, 7);
    private static readonly SiloAddress Other = SiloAddress.New(IPAddress.Loopback, 11112, 7);
    private static readonly string OtherStream = JournalLifecycle.StreamName("svc", Other);

    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly CountingStore _store = new(new MemoryJournalStore());
    private readonly Membership _membership = new();
    private readonly QuotaInstruments _instruments;

    public DeadStreamPrefetchTests() => _instruments = new QuotaInstruments(_services.GetRequiredService<IMeterFactory>());

    public void Dispose()
    {
        _instruments.Dispose();
        _services.Dispose();
    }

    [Fact]
    public void Only_a_silo_last_seen_active_and_now_dead_is_read_ahead()
    {
        var prefetch = NewPrefetch(NewReader());
        var third = SiloAddress.New(IPAddress.Loopback, 11113, 7);
        var fourth = SiloAddress.New(IPAddress.Loopback, 11114, 7);

        Assert.Empty(prefetch.Crashed(Snapshot(1, (Self, SiloStatus.Active), (Other, SiloStatus.Active), (third, SiloStatus.Active), (fourth, SiloStatus.Dead))));
        Assert.Empty(prefetch.Crashed(Snapshot(2, (Self, SiloStatus.Active), (Other, SiloStatus.Active), (third, SiloStatus.ShuttingDown), (fourth, SiloStatus.Dead))));
        Assert.Equal(
            [OtherStream],
            prefetch.Crashed(Snapshot(3, (Self, SiloStatus.Active), (Other, SiloStatus.Dead), (third, SiloStatus.Dead), (fourth, SiloStatus.Dead))));
        Assert.Empty(prefetch.Crashed(Snapshot(4, (Self, SiloStatus.Dead), (Other, SiloStatus.Dead), (third, SiloStatus.Dead), (fourth, SiloStatus.Dead))));
    }

    [Fact]
    public async Task A_crashed_silos_stream_is_read_when_the_death_is_seen_and_its_Spaces_need_no_storage_request()
    {
        var written = new Dictionary<string, JournalPosition>();
        await using (var journal = new SiloJournalWriter(
            _store.Inner,
            OtherStream,
            Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxRecordsPerBlock = 4 }),
            _instruments,
            NullLogger<SiloJournalWriter>.Instance))
        {
            journal.Start();
            for (var i = 0; i < 40; i++)
            {
                var space = $"s{i % 10}";
                var at = await journal.AppendAsync(space, JournalRecord.Encode(space, (i / 10) + 1, 1, new byte[50]));
                written.TryAdd(space, at);
            }
        }

        using var reader = NewReader();
        var prefetch = NewPrefetch(reader);
        using var stop = new CancellationTokenSource();
        var run = prefetch.RunAsync(stop.Token);

        _membership.Publish(Snapshot(1, (Self, SiloStatus.Active), (Other, SiloStatus.Active)));
        _membership.Publish(Snapshot(2, (Self, SiloStatus.Active), (Other, SiloStatus.Dead)));
        await Eventually.TrueAsync(() => reader.CachedBytes > 0 && _store.Reads > 0);
        Assert.True(await _store.Inner.IsFenceSegmentAsync(JournalPosition.SegmentNameOf(OtherStream, 1), CancellationToken.None));

        // The first Space to ask joins the read ahead (or finds it done): one listing in all.
        Assert.Equal([1L, 2, 3, 4], (await reader.ReadAsync("s0", written["s0"], CancellationToken.None)).Select(r => r.FirstSequence));
        Assert.Equal(1, _store.Lists);
        var (lists, reads) = (_store.Lists, _store.Reads);
        foreach (var (space, from) in written)
        {
            Assert.Equal([1L, 2, 3, 4], (await reader.ReadAsync(space, from, CancellationToken.None)).Select(r => r.FirstSequence));
        }

        Assert.Equal((lists, reads), (_store.Lists, _store.Reads));
        await stop.CancelAsync();
        await run;
    }

    private JournalReader NewReader() => new(
        _store,
        Microsoft.Extensions.Options.Options.Create(new JournalOptions { RecoveryReadBytes = 256 }),
        _instruments,
        NullLogger<JournalReader>.Instance,
        fencing: new MembershipStreamFencing(_store.Inner, _membership, ClusterOptions(), new FixedSiloDetails(Self), NullLogger<MembershipStreamFencing>.Instance));

    private DeadStreamPrefetch NewPrefetch(JournalReader reader) =>
        new(reader, _membership, ClusterOptions(), Microsoft.Extensions.Options.Options.Create(new JournalOptions()), new FixedSiloDetails(Self), NullLogger<DeadStreamPrefetch>.Instance);

    private static Microsoft.Extensions.Options.IOptions<ClusterOptions> ClusterOptions() =>
        Microsoft.Extensions.Options.Options.Create(new ClusterOptions { ServiceId = "svc", ClusterId = "test" });

    private static ClusterMembershipSnapshot Snapshot(long version, params (SiloAddress Silo, SiloStatus Status)[] members) =>
        new(members.ToImmutableDictionary(m => m.Silo, m => new ClusterMember(m.Silo, m.Status, m.Silo.ToString())), new MembershipVersion(version));

    /// <summary>Counts the reader's storage requests (the fence goes to the store beneath).</summary>
    private sealed class CountingStore(IJournalStore inner) : DelegatingJournalStore(inner)
    {
        private int _lists;
        private int _reads;

        public int Lists => Volatile.Read(ref _lists);

        public int Reads => Volatile.Read(ref _reads);

        public override Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _lists);
            return base.ListSegmentsAsync(prefix, cancellationToken);
        }

        public override Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _reads);
            return base.ReadAsync(segment, offset, maxBytes, cancellationToken);
        }
    }

    /// <summary>Membership views published one by one; the current one is the last published.</summary>
    private sealed class Membership : IClusterMembershipService
    {
        private readonly Channel<ClusterMembershipSnapshot> _updates = Channel.CreateUnbounded<ClusterMembershipSnapshot>();

        public ClusterMembershipSnapshot CurrentSnapshot { get; private set; } = null!;

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => _updates.Reader.ReadAllAsync();

        public void Publish(ClusterMembershipSnapshot snapshot)
        {
            CurrentSnapshot = snapshot;
            _updates.Writer.TryWrite(snapshot);
        }

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public Task<bool> TryKill(SiloAddress siloAddress) => Task.FromResult(false);
    }
}
