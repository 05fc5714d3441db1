using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Storage;

/// <summary>Two silos of one cluster split the read of a dead silo's stream through Orleans (each silo's
/// <see cref="JournalPeerService"/>): every range comes from the store once in all, and each silo has every record.</summary>
public sealed class JournalPeerServiceTests : IAsyncLifetime
{
    private const int RangeBytes = 64 * 1024;
    private readonly MemoryJournalStore _store = new();
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton<IJournalStore>(_store);
            silo.AddQuotaGrains(q => q.ConfigureJournal(o => o.RecoveryReadBytes = RangeBytes));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task Two_silos_read_a_dead_silos_stream_once_in_all_through_each_other_and_both_have_every_record()
    {
        // A silo that is not in the membership (gone): its stream is fenced and final for both.
        var services = _cluster.Silos.Select(s => s.ServiceProvider).ToList();
        var dead = SiloAddress.New(IPAddress.Loopback, 1, 1);
        var stream = JournalLifecycle.StreamName(services[0].GetRequiredService<IOptions<Orleans.Configuration.ClusterOptions>>().Value.ServiceId, dead);
        var written = new Dictionary<string, List<long>>();
        await using (var journal = new SiloJournalWriter(
            _store, stream, Options.Create(new JournalOptions()), services[0].GetRequiredService<QuotaInstruments>(), NullLogger<SiloJournalWriter>.Instance))
        {
            journal.Start();
            await Task.WhenAll(Enumerable.Range(0, 4_000).Select(i =>
            {
                var space = $"s{i % 50}";
                var sequence = (i / 50) + 1L;
                (written.TryGetValue(space, out var list) ? list : written[space] = []).Add(sequence);
                return journal.AppendAsync(space, JournalRecord.Encode(space, sequence, 1, new byte[200]));
            }));
        }

        var streamBytes = 0L;
        foreach (var segment in await _store.ListSegmentsAsync(stream + "/", CancellationToken.None))
        {
            streamBytes += (await _store.ReadAsync(segment, 0, int.MaxValue, CancellationToken.None)).Length;
        }

        Assert.True(streamBytes > 8 * RangeBytes, $"the stream is {streamBytes} bytes: too few ranges to split");
        var readers = services.Select(s => s.GetRequiredService<JournalReader>()).ToList();

        var spaces = await Task.WhenAll(readers.Select(r => r.SpacesInAsync(stream, CancellationToken.None)));

        Assert.All(spaces, s => Assert.Equal(written.Keys.Order(StringComparer.Ordinal), s));
        foreach (var reader in readers)
        {
            foreach (var (space, sequences) in written)
            {
                Assert.Equal(sequences, (await reader.ReadAsync(space, new JournalPosition(stream, 0, 0), CancellationToken.None)).Select(r => r.FirstSequence));
            }
        }

        Assert.Equal(streamBytes, readers.Sum(r => r.BytesFromPeers));
        Assert.All(readers, r => Assert.InRange(r.BytesFromPeers, streamBytes / 4, 3 * streamBytes / 4));
    }
}
