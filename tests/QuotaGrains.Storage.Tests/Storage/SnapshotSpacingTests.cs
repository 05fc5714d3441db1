using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>A Space past its snapshot count waits <c>MinSnapshotSpacing</c> after its previous snapshot: a hot Space
/// would otherwise snapshot dozens of times a second, its requests queueing behind each copy of its state.</summary>
public sealed class SnapshotSpacingTests : IAsyncLifetime
{
    // Its own silo: the test counts every snapshot the silo writes.
    private readonly QuotaClusterFixture _cluster = new()
    {
        Journal = j => (j.SnapshotEveryEvents, j.MinSnapshotSpacing) = (5, TimeSpan.FromSeconds(1)),
    };

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Past_the_count_a_Space_snapshots_again_only_once_the_spacing_has_passed()
    {
        using var snapshots = new SnapshotCounter(_cluster.Cluster.Silos[0].ServiceProvider);

        // The activation's first append is preceded by its snapshot (1). Twenty events on a frozen clock, four times the
        // count: none more, the spacing has not passed.
        var spaceId = await _cluster.CreateSpaceAsync(PlanTier.Pro, "lior");
        var user = _cluster.Grains.GetGrain<IUserGrain>("lior");
        for (var i = 0; i < 20; i++)
        {
            var reserved = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-{i}", new GenerationSpec("recolor")));
            Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
        }

        // A second later the next write starts one (2); deactivation waits for it and writes the final one (3).
        _cluster.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-20", new GenerationSpec("recolor")))).Succeeded);
        await _cluster.Cluster.DeactivateAsync(_cluster.Grains.GetGrain<ISpaceGrain>(spaceId));

        Assert.Equal(3, snapshots.Count);
        var balance = await _cluster.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(21 * 4, balance!.Held);
    }
}
