using System.Diagnostics.Metrics;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The append-blob journal on Azurite with appends pipelined at computed offsets: the service does not
/// process appends in flight in the order they were sent, so a block can reach it before the one sent ahead of it.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AppendBlobJournalStoreTests(AzuriteFixture fixture)
{
    [Fact]
    public async Task An_append_short_of_its_offset_writes_nothing_and_says_it_came_too_early()
    {
        var store = new AzureAppendBlobJournalStore(NewContainer());
        const string Segment = "stream/00000000";
        await store.CreateSegmentAsync(Segment, CancellationToken.None);

        await Assert.ThrowsAsync<JournalAppendTooEarlyException>(() => store.AppendAsync(Segment, 100, new byte[10], CancellationToken.None));
        Assert.Empty(await store.ReadAsync(Segment, 0, 1024, CancellationToken.None));

        await store.AppendAsync(Segment, 0, new byte[100], CancellationToken.None);
        await store.AppendAsync(Segment, 100, new byte[10], CancellationToken.None);
        Assert.Equal(110, (await store.ReadAsync(Segment, 0, 1024, CancellationToken.None)).Length);

        // Ranged: at most the bytes asked for, fewer at the end, none past it.
        Assert.Equal(4, (await store.ReadAsync(Segment, 100, 4, CancellationToken.None)).Length);
        Assert.Equal(10, (await store.ReadAsync(Segment, 100, 64, CancellationToken.None)).Length);
        Assert.Empty(await store.ReadAsync(Segment, 110, 64, CancellationToken.None));
        Assert.Empty(await store.ReadAsync("stream/00000009", 0, 64, CancellationToken.None));
    }

    [Fact]
    public async Task Pipelined_blocks_all_land_in_order_and_every_waiter_hears_durable()
    {
        var store = new AzureAppendBlobJournalStore(NewContainer());
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var instruments = new QuotaInstruments(services.GetRequiredService<IMeterFactory>());
        var options = Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxAppendsInFlight = 16, MaxRecordsPerBlock = 4 });
        var journal = new SiloJournalWriter(store, "stream", options, instruments, NullLogger<SiloJournalWriter>.Instance);
        journal.Start();
        try
        {
            // Records of very different sizes in blocks of a few records, 16 appends in flight: small blocks sent after
            // a large one tend to reach the service before it has stored the large one.
            var records = Enumerable.Range(0, 400)
                .Select(i => JournalRecord.Encode($"space-{i % 7}", i, 1, new byte[i % 50 == 0 ? 512 * 1024 : 40 + (i % 13)]))
                .ToArray();
            var positions = await Task.WhenAll(records.Select(r => journal.AppendAsync("space", r)));
            Assert.All(positions, p => Assert.Equal(0, p.Segment));

            var data = await store.ReadAsync(JournalPosition.SegmentNameOf("stream", 0), 0, 64 * 1024 * 1024, CancellationToken.None);
            var decoded = DecodeAll(data).Select(r => r.FirstSequence).ToList();
            Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), decoded);
        }
        finally
        {
            await journal.DisposeAsync();
        }
    }

    /// <summary>Every record in <paramref name="data"/> (blocks back to back), up to a truncated tail.</summary>
    private static IEnumerable<JournalRecord> DecodeAll(ReadOnlyMemory<byte> data)
    {
        var offset = 0;
        while (JournalRecord.TryDecode(data[offset..], out var record, out var length))
        {
            yield return record;
            offset += length;
        }
    }

    private BlobContainerClient NewContainer()
    {
        var container = new BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(QuotaClusterFixture.NewId("journal"));
        container.CreateIfNotExists();
        return container;
    }
}
