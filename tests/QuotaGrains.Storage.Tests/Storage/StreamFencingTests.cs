using System.Diagnostics.Metrics;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>Issue 16, "two owners": a survivor fences a dead silo's stream before it reads it. Afterwards the stale
/// writer acknowledges nothing (not even after a roll), and the survivor's read has every record it acknowledged.</summary>
public abstract class StreamFencingTests : IAsyncLifetime
{
    private const string StreamA = "svc/silo-a";
    private const string Space = "space-x";
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private QuotaInstruments _instruments = null!;

    public Task InitializeAsync()
    {
        _instruments = new QuotaInstruments(_services.GetRequiredService<IMeterFactory>());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _instruments.Dispose();
        await _services.DisposeAsync();
    }

    /// <summary>A fresh, empty journal store.</summary>
    private protected abstract IJournalStore NewStore();

    [Fact]
    public async Task A_fenced_writer_acknowledges_nothing_more_even_across_a_roll_and_the_read_after_the_fence_has_every_acknowledged_record()
    {
        var store = NewStore();
        await using var writer = NewWriter(store, new JournalOptions { MaxRecordsPerBlock = 1, MaxBlocksPerSegment = 2 });

        // Five one-record blocks over three segments: all acknowledged.
        var first = await writer.AppendAsync(Space, Record(1));
        for (var sequence = 2; sequence <= 5; sequence++)
        {
            await writer.AppendAsync(Space, Record(sequence));
        }

        // The survivor (silo B) reads A's stream for Space X's recovery; membership says A is dead: fenced first.
        var fencing = new DelegateStreamFencing(store, s => s == StreamA);
        using var reader = NewReader(store, fencing);
        var recovered = await reader.ReadAsync(Space, first, CancellationToken.None);
        Assert.Equal([1L, 2, 3, 4, 5], recovered.Select(r => r.FirstSequence));
        Assert.Equal(1, fencing.Fences);
        var fencedSegments = await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None);

        // A resumes: its next append, and every later one (more than a segment's worth: it would roll), fail closed.
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(6)));
        Assert.True(writer.IsFenced);
        for (var sequence = 7; sequence <= 12; sequence++)
        {
            await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(sequence)));
        }

        // Nothing landed, and no segment was opened past the fence.
        Assert.Equal(fencedSegments, await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None));
        using var later = NewReader(store, fencing);
        Assert.Equal([1L, 2, 3, 4, 5], (await later.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence));
    }

    [Fact]
    public async Task Fencing_while_appends_are_in_flight_and_rolling_loses_no_acknowledged_record()
    {
        // From the 22nd append on (the first block of a segment: a block, then three a segment), the store holds each
        // one until the fence is done: the even ones after they landed (answered, so acknowledged, after the fence
        // returned), the odd ones before (they meet the seal). The writer rolls on meanwhile (the block after a held one
        // lands too early and fails) and waits for the held blocks before it opens the next segment.
        var store = new GatedStore(NewStore(), firstHeld: 22);
        await using var writer = NewWriter(store, new JournalOptions { MaxRecordsPerBlock = 2, MaxBlocksPerSegment = 3, MaxAppendsInFlight = 4 });
        var first = await writer.AppendAsync(Space, Record(1));
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<long>([1L]);
        var appends = Enumerable.Range(2, 400).Select(async sequence =>
        {
            try
            {
                await writer.AppendAsync(Space, Record(sequence));
                acknowledged.Add(sequence);
                return true;
            }
            catch (QuotaUnavailableException)
            {
                return false;
            }
        }).ToList();
        await store.Holding.WaitAsync(TimeSpan.FromSeconds(60));

        var fencing = new DelegateStreamFencing(store, s => s == StreamA);
        using var reader = NewReader(store, fencing);
        var read = (await reader.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence).ToHashSet();
        store.Release();
        var outcomes = await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(60));

        // Every record the writer acknowledged, before or after the fence returned, is in the read after the fence.
        Assert.True(writer.IsFenced);
        Assert.Contains(false, outcomes);
        Assert.True(acknowledged.Count > 5, $"{acknowledged.Count} acknowledged");
        Assert.DoesNotContain(acknowledged, s => !read.Contains(s));

        // And nothing landed after it: a later read finds the same records.
        using var later = NewReader(store, new DelegateStreamFencing(store, s => s == StreamA));
        Assert.Equal(read.Order(), (await later.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence).Order());
    }

    [Fact]
    public async Task A_writer_whose_append_to_a_sealed_segment_times_out_stops_at_the_fence_instead_of_rolling_past_it()
    {
        var store = new HangOnSealedStore(NewStore());
        await using var writer = NewWriter(store, new JournalOptions { AppendTimeout = TimeSpan.FromMilliseconds(200) });
        await writer.AppendAsync(Space, Record(1));
        await JournalFence.FenceAsync(store, StreamA, CancellationToken.None);
        var fenced = await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None);
        Assert.Equal([$"{StreamA}/00000000", $"{StreamA}/00000001"], fenced);

        // The append to the sealed segment 0 times out (no answer), so the writer rolls: segment 1 is the fence.
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(2)));
        Assert.True(store.Hung);
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(3)));
        Assert.True(writer.IsFenced);
        Assert.Equal(fenced, await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None));
    }

    [Fact]
    public async Task Fencing_twice_by_two_survivors_adds_one_fence_and_a_writer_that_rolled_meanwhile_is_fenced_too()
    {
        var store = NewStore();
        await using var writer = NewWriter(store, new JournalOptions { MaxRecordsPerBlock = 1, MaxBlocksPerSegment = 1 });
        await writer.AppendAsync(Space, Record(1));

        // The writer's next segment already exists, empty (a create whose answer it lost): the fence goes after it.
        await store.CreateSegmentAsync(JournalPosition.SegmentNameOf(StreamA, 1), CancellationToken.None);
        await JournalFence.FenceAsync(store, StreamA, CancellationToken.None);
        await JournalFence.FenceAsync(store, StreamA, CancellationToken.None);

        Assert.Equal([$"{StreamA}/00000000", $"{StreamA}/00000001", $"{StreamA}/00000002"], await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None));
        Assert.True(await store.IsFenceSegmentAsync($"{StreamA}/00000002", CancellationToken.None));
        Assert.False(await store.IsFenceSegmentAsync($"{StreamA}/00000001", CancellationToken.None));
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(2)));
        Assert.True(writer.IsFenced);
        await Assert.ThrowsAsync<JournalFencedException>(() => store.AppendAsync($"{StreamA}/00000001", 0, Record(2), CancellationToken.None));

        // The older segment is sealed too: a block the writer gave up on (a timeout) cannot land there after the fence.
        var end = (await store.ReadAsync($"{StreamA}/00000000", 0, 1 << 20, CancellationToken.None)).Length;
        await Assert.ThrowsAsync<JournalFencedException>(() => store.AppendAsync($"{StreamA}/00000000", end, Record(2), CancellationToken.None));
        await Assert.ThrowsAsync<JournalFencedException>(() => store.CreateSegmentAsync($"{StreamA}/00000002", CancellationToken.None));
    }

    [Fact]
    public async Task A_live_silos_stream_is_read_without_a_fence_and_its_writer_goes_on()
    {
        var store = NewStore();
        await using var writer = NewWriter(store, new JournalOptions());
        var first = await writer.AppendAsync(Space, Record(1));

        var fencing = new DelegateStreamFencing(store, _ => false);
        using var reader = NewReader(store, fencing);
        Assert.Single(await reader.ReadAsync(Space, first, CancellationToken.None));

        await writer.AppendAsync(Space, Record(2));
        Assert.False(writer.IsFenced);
        Assert.Equal(0, fencing.Fences);
        Assert.Equal([$"{StreamA}/00000000"], await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None));
    }

    /// <summary>Seed 3570: an append the writer gave up on (a timeout) reached the storage and was carried out later. A
    /// recovery of its Space that read the segment before did not see it, one that read after did, and with two owners the
    /// first wrote its snapshot over what the second had shown. Now the writer seals the segment before it answers the
    /// failure: the late block cannot land, every read after the answer finds the same records, and the writer, not
    /// fenced, goes on in the next segment.</summary>
    [Fact]
    public async Task An_append_given_up_on_cannot_land_after_its_failure_is_answered_and_the_writer_goes_on_in_the_next_segment()
    {
        var store = new LateAppendStore(NewStore());
        await using var writer = NewWriter(store, new JournalOptions { AppendTimeout = TimeSpan.FromMilliseconds(200) });
        var first = await writer.AppendAsync(Space, Record(1));
        store.HoldNext = true;
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(2)));

        using var before = NewReader(store, new DelegateStreamFencing(store, _ => false));
        Assert.Equal([1L], (await before.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence));
        await Assert.ThrowsAsync<JournalFencedException>(store.LandHeldAsync);
        using var after = NewReader(store, new DelegateStreamFencing(store, _ => false));
        Assert.Equal([1L], (await after.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence));

        var next = await writer.AppendAsync(Space, Record(2));
        Assert.False(writer.IsFenced);
        Assert.Equal(1, next.Segment);
        using var last = NewReader(store, new DelegateStreamFencing(store, _ => false));
        Assert.Equal([1L, 2], (await last.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence));
    }

    /// <summary>While the segment where an append failed cannot be sealed (storage trouble), the writer opens no next
    /// segment: a reader takes a segment with a later one beside it as final, which it would not be. Its appends fail,
    /// nothing written, until the seal succeeds.</summary>
    [Fact]
    public async Task No_next_segment_is_opened_until_the_segment_where_an_append_failed_is_sealed()
    {
        var late = new LateAppendStore(NewStore());
        var store = new SealFailsStore(late, failures: 2);
        await using var writer = NewWriter(store, new JournalOptions { AppendTimeout = TimeSpan.FromMilliseconds(200) });
        var first = await writer.AppendAsync(Space, Record(1));
        late.HoldNext = true;
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(2)));

        var refused = await Assert.ThrowsAsync<QuotaUnavailableException>(() => writer.AppendAsync(Space, Record(2)));
        Assert.Contains("could not seal", refused.Message, StringComparison.Ordinal);
        Assert.Equal([$"{StreamA}/00000000"], await store.ListSegmentsAsync(StreamA + "/", CancellationToken.None));
        Assert.Equal(2, store.Attempts);

        var next = await writer.AppendAsync(Space, Record(2));
        Assert.Equal((1, 3), (next.Segment, store.Attempts));
        Assert.False(writer.IsFenced);
        await Assert.ThrowsAsync<JournalFencedException>(late.LandHeldAsync);
        using var reader = NewReader(store, new DelegateStreamFencing(store, _ => false));
        Assert.Equal([1L, 2], (await reader.ReadAsync(Space, first, CancellationToken.None)).Select(r => r.FirstSequence));
    }

    private static byte[] Record(long sequence) => JournalRecord.Encode(Space, sequence, 1, new byte[40]);

    private SiloJournalWriter NewWriter(IJournalStore store, JournalOptions options)
    {
        var writer = new SiloJournalWriter(store, StreamA, Microsoft.Extensions.Options.Options.Create(options), _instruments, NullLogger<SiloJournalWriter>.Instance);
        writer.Start();
        return writer;
    }

    private JournalReader NewReader(IJournalStore store, IStreamFencing fencing) =>
        new(store, Microsoft.Extensions.Options.Options.Create(new JournalOptions()), _instruments, NullLogger<JournalReader>.Instance, fencing: fencing);

    /// <summary>Holds every append from the <c>firstHeld</c>-th on until <see cref="Release"/>: even ones after they
    /// landed, odd ones before.</summary>
    private sealed class GatedStore(IJournalStore inner, int firstHeld) : DelegatingJournalStore(inner)
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _holding = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _appends;

        /// <summary>Completes when an append is held.</summary>
        public Task Holding => _holding.Task;

        public void Release() => _gate.TrySetResult();

        public override async Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _appends);
            if (n < firstHeld || _gate.Task.IsCompleted)
            {
                await base.AppendAsync(segment, expectedOffset, block, cancellationToken);
                return;
            }

            if (n % 2 == 0)
            {
                await base.AppendAsync(segment, expectedOffset, block, cancellationToken);
            }

            _holding.TrySetResult();
            await _gate.Task;
            if (n % 2 == 1)
            {
                await base.AppendAsync(segment, expectedOffset, block, cancellationToken);
            }
        }
    }

    /// <summary>The first <c>failures</c> seals fail (nothing sealed), as with storage unreachable.</summary>
    private sealed class SealFailsStore(IJournalStore inner, int failures) : DelegatingJournalStore(inner)
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public override Task SealSegmentAsync(string segment, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _attempts) <= failures
                ? Task.FromException(new IOException("The storage did not answer."))
                : base.SealSegmentAsync(segment, cancellationToken);
    }

    /// <summary>An append to a sealed segment gets no answer (it hangs until the writer's timeout) instead of the refusal.</summary>
    private sealed class HangOnSealedStore(IJournalStore inner) : DelegatingJournalStore(inner)
    {
        private int _hung;

        public bool Hung => Volatile.Read(ref _hung) == 1;

        public override async Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
        {
            try
            {
                await base.AppendAsync(segment, expectedOffset, block, cancellationToken);
            }
            catch (JournalFencedException)
            {
                Volatile.Write(ref _hung, 1);
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
        }
    }
}

/// <summary>Fencing on the embedded store.</summary>
public sealed class MemoryStreamFencingTests : StreamFencingTests
{
    private protected override IJournalStore NewStore() => new MemoryJournalStore();
}

/// <summary>Fencing on Azure append blobs (Azurite): sealed blobs, an exclusive create with If-None-Match: *.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureStreamFencingTests(AzuriteFixture fixture) : StreamFencingTests
{
    private protected override IJournalStore NewStore()
    {
        var container = new BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(QuotaClusterFixture.NewId("journal"));
        container.CreateIfNotExists();
        return new AzureAppendBlobJournalStore(container);
    }
}
