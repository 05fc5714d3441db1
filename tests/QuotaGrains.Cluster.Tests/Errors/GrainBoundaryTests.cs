using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Client;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Errors;

/// <summary>What leaves a client-facing grain: our results, <see cref="QuotaUnavailableException"/> (with its cause as
/// text), and <see cref="ArgumentException"/> for bad input; a storage exception of a type the client may not have
/// never does.</summary>
public sealed class GrainBoundaryTests : IAsyncLifetime
{
    private InProcessTestCluster _cluster = null!;

    private IQuotaClient Quota => _cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            // Registered first: AddQuotaGrains keeps a ledger store that is already there.
            silo.Services.AddSingleton<ILedgerStore, BrokenLedgerStore>();
            silo.AddQuotaGrains();
        });
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_storage_exception_leaves_the_grain_as_QuotaUnavailableException_naming_it()
    {
        var spaceId = await CreateSpaceAsync();

        var thrown = await Assert.ThrowsAsync<QuotaUnavailableException>(() => _cluster.Client.GetGrain<ISpaceGrain>(spaceId).GetLedgerAsync(new LedgerQuery()));

        Assert.Null(thrown.InnerException);
        Assert.Contains($"{typeof(StorageSdkException).FullName}: Service request failed. ---> System.IO.IOException: Connection refused", thrown.Message);
        Assert.StartsWith($"The ledger of Space '{spaceId}' could not be read", thrown.Message);
        Assert.False(thrown.ClusterChanging);
    }

    [Fact]
    public async Task A_lost_silo_between_grains_says_that_the_cluster_is_changing_across_the_wire()
    {
        var thrown = await Assert.ThrowsAsync<QuotaUnavailableException>(() =>
            GrainBoundary.GuardAsync(Task.FromException<int>(new SiloUnavailableException("lost")), "Routing to Space", "s", NullLogger.Instance));
        var serializer = _cluster.Client.ServiceProvider.GetRequiredService<Serializer>();
        var received = Assert.IsType<QuotaUnavailableException>(serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(thrown)));

        Assert.True(thrown.ClusterChanging);
        Assert.True(received.ClusterChanging);
        Assert.Equal(thrown.Message, received.Message);
    }

    [Fact]
    public async Task Bad_input_stays_an_ArgumentException()
    {
        var spaceId = await CreateSpaceAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => _cluster.Client.GetGrain<ISpaceGrain>(spaceId).GetLedgerAsync(new LedgerQuery(PageSize: 0)));
        await Assert.ThrowsAsync<ArgumentException>(() => Quota.GetLedgerAsync(spaceId, new LedgerQuery(PageSize: 0)));
    }

    [Fact]
    public async Task The_client_retries_and_then_throws_QuotaUnavailableException()
    {
        var spaceId = await CreateSpaceAsync();

        var thrown = await Assert.ThrowsAsync<QuotaUnavailableException>(() => Quota.GetLedgerAsync(spaceId, new LedgerQuery()));

        Assert.Null(thrown.InnerException);
        Assert.Contains(typeof(StorageSdkException).FullName!, thrown.Message);
        Assert.Equal(3, BrokenLedgerStore.QueriesOf(spaceId));
    }

    private async Task<string> CreateSpaceAsync()
    {
        var spaceId = QuotaClusterFixture.NewId("space");
        Assert.True((await Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "owner", PlanTier.Pro))).Succeeded);
        return spaceId;
    }

    /// <summary>Stands for a storage SDK's exception: a type of its own, with an inner exception.</summary>
    private sealed class StorageSdkException(string message, Exception inner) : Exception(message, inner);

    /// <summary>Writes as the memory ledger does; every query fails as a storage SDK would.</summary>
    private sealed class BrokenLedgerStore : ILedgerStore
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Queries = new(StringComparer.Ordinal);
        private readonly MemoryLedgerStore _memory = new();

        public static int QueriesOf(string spaceId) => Queries.GetValueOrDefault(spaceId);

        public Task WriteAsync(string spaceId, LedgerBatch batch, IReadOnlyList<LedgerPageRow> pages, LedgerBatch? named, CancellationToken cancellationToken) =>
            _memory.WriteAsync(spaceId, batch, pages, named, cancellationToken);

        public Task<IReadOnlyList<LedgerEntry>> QueryAsync(string spaceId, LedgerQuery query, LedgerBatch? named, CancellationToken cancellationToken)
        {
            Queries.AddOrUpdate(spaceId, 1, (_, n) => n + 1);
            throw new StorageSdkException("Service request failed.\nStatus: 503 (Service Unavailable)", new IOException("Connection refused (127.0.0.1:10002)"));
        }
    }
}
