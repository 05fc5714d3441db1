using Azure.Storage.Blobs;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The append-blob journal store on Azurite: blocks appended concurrently at computed offsets (as the
/// journal pipelines them) all land, each at its own offset, whatever order the service takes them in.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AppendBlobJournalStoreTests(AzuriteFixture fixture)
{
    [Fact]
    public async Task Pipelined_appends_at_computed_offsets_all_land_in_order()
    {
        var container = new BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(QuotaClusterFixture.NewId("journal"));
        var store = new AzureAppendBlobJournalStore(container);
        const string Segment = "stream/00000000";
        await store.CreateSegmentAsync(Segment, CancellationToken.None);

        // Each wave starts with a large block, so that the smaller ones sent after it are processed before it lands
        // (the service reads and stores a body before it checks the append position).
        var blocks = Enumerable.Range(0, 32).Select(i => Enumerable.Repeat((byte)i, i % 16 == 0 ? 2 * 1024 * 1024 : 64 + (i * 997)).ToArray()).ToArray();
        var offsets = new long[blocks.Length];
        for (var i = 1; i < blocks.Length; i++)
        {
            offsets[i] = offsets[i - 1] + blocks[i - 1].Length;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var wave in new[] { 0, 16 })
        {
            // Sixteen in flight at once (the journal allows up to 64), all sent in offset order.
            await Task.WhenAll(Enumerable.Range(wave, 16).Select(i => store.AppendAsync(Segment, offsets[i], blocks[i], timeout.Token)));
        }

        var data = await store.ReadAsync(Segment, 0, CancellationToken.None);
        Assert.Equal(blocks.SelectMany(b => b).ToArray(), data);
    }
}
