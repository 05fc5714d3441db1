using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Usage;

/// <summary>An in-process cluster of its own for the usage queries, with a <see cref="FakeTimeProvider"/> that these
/// tests move by months without disturbing the shared cluster's clock.</summary>
public class UsageClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 3, 10, 9, 30, 0, TimeSpan.Zero);

    public FakeTimeProvider Time { get; } = new(Start);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IQuotaClient Quota => Cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    public IGrainFactory Grains => Cluster.Client;

    protected virtual int Silos => 1;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder((short)Silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(Time);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
        });
        builder.ConfigureSilo((_, silo) => silo.AddQuotaGrains(Configure));
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    protected virtual void Configure(QuotaGrainsOptionsBuilder quota)
    {
    }

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>Moves the fake clock forward to <paramref name="instant"/>.</summary>
    public void AdvanceTo(DateTimeOffset instant)
    {
        var now = Time.GetUtcNow();
        Assert.True(instant >= now, $"Cannot move the clock back from {now:O} to {instant:O}.");
        Time.Advance(instant - now);
    }

    /// <summary>A Space owned by <paramref name="owner"/> with <paramref name="members"/> as Members, through the client.</summary>
    public Task<string> CreateSpaceAsync(PlanTier plan, string owner, long? customAllowance = null, params string[] members) =>
        Quota.CreateSpaceAsync(plan, owner, customAllowance, members);

    /// <summary>Reserves <paramref name="count"/> items through the client and commits them all.</summary>
    public async Task SpendAsync(string userId, string spaceId, GenerationSpec spec, int count = 1)
    {
        await using var hold = await Quota.ReserveAsync(userId, spaceId, spec, count);
        Assert.True(hold.Succeeded, hold.Rejection?.ToString());
        var committed = await hold.CommitAsync();
        Assert.True(committed.Succeeded, committed.Rejection?.ToString());
    }
}
