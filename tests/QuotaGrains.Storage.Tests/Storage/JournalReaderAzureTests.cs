using System.Diagnostics.Metrics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>The recovery reader on the append-blob journal (Azurite): a wave of Spaces asking at once, one of whose
/// ranged reads fails (a connection reset, injected once), is served whole, with the tail read about once.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class JournalReaderAzureTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task A_recovery_read_that_fails_once_is_retried_and_does_not_fail_the_wave()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var instruments = new QuotaInstruments(services.GetRequiredService<IMeterFactory>());
        var container = new BlobServiceClient(azurite.Azurite.ConnectionString).GetBlobContainerClient(QuotaClusterFixture.NewId("journal"));
        await container.CreateIfNotExistsAsync();
        var store = new FaultOnceStore(new AzureAppendBlobJournalStore(container));

        // 60 Spaces' records, interleaved over ~1 MB of blocks.
        var froms = new Dictionary<string, JournalPosition>(StringComparer.Ordinal);
        var journal = new SiloJournalWriter(store, "svc/silo", Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxRecordsPerBlock = 64 }), instruments, NullLogger<SiloJournalWriter>.Instance);
        journal.Start();
        await using (journal)
        {
            for (var round = 1; round <= 40; round++)
            {
                var appends = Enumerable.Range(0, 60).Select(async i =>
                    (Space: $"space-{i}", At: await journal.AppendAsync($"space-{i}", JournalRecord.Encode($"space-{i}", round, 1, new byte[400]))));
                foreach (var (space, at) in await Task.WhenAll(appends))
                {
                    froms.TryAdd(space, at);
                }
            }
        }

        var tail = (await container.GetAppendBlobClient("svc/silo/00000000").GetPropertiesAsync()).Value.ContentLength;
        store.FailNextReadAfter(tail / 3);
        using var reader = new JournalReader(
            store,
            Microsoft.Extensions.Options.Options.Create(new JournalOptions { RecoveryReadBytes = 64 * 1024, RecoveryRetryDelay = TimeSpan.FromMilliseconds(10) }),
            instruments,
            NullLogger<JournalReader>.Instance);

        var answers = await Task.WhenAll(froms.Select(async f => (f.Key, Records: await reader.ReadAsync(f.Key, f.Value, CancellationToken.None))));

        Assert.True(store.Failed, "the injected failure was never hit");
        Assert.All(answers, a => Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), a.Records.Select(r => r.FirstSequence)));
        Assert.InRange(store.BytesRead, tail / 2, 2 * tail);
    }

    /// <summary>The append-blob store, with one ranged read at or past an offset failing as a reset connection would.</summary>
    private sealed class FaultOnceStore(IJournalStore inner) : DelegatingJournalStore(inner)
    {
        private long _failAt = long.MaxValue;
        private int _failed;
        private long _bytes;

        public bool Failed => Volatile.Read(ref _failed) == 1;

        public long BytesRead => Interlocked.Read(ref _bytes);

        public void FailNextReadAfter(long offset) => _failAt = offset;

        public override async Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
        {
            if (offset >= _failAt && Interlocked.CompareExchange(ref _failed, 1, 0) == 0)
            {
                throw new IOException("Unable to read data from the transport connection: Connection reset by peer.");
            }

            var data = await base.ReadAsync(segment, offset, maxBytes, cancellationToken);
            Interlocked.Add(ref _bytes, data.Length);
            return data;
        }
    }
}
