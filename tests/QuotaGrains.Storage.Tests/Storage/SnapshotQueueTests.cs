using Microsoft.Extensions.DependencyInjection;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Storage;

/// <summary>A Space whose periodic snapshot waits for the silo's snapshot slot keeps serving, and asks for that one
/// snapshot only: waking for it again on every write would queue one more snapshot per request (a storm that, with
/// thousands of Spaces due at once, kept the Table service busy and starved the journal).</summary>
public sealed class SnapshotQueueTests : IAsyncLifetime
{
    // Its own silo: the test holds the silo's only snapshot slot and counts every snapshot the silo writes.
    private readonly QuotaClusterFixture _cluster = new();

    public Task InitializeAsync() => _cluster.InitializeAsync();

    public Task DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task Writes_while_a_periodic_snapshot_waits_for_its_slot_join_it_instead_of_queueing_more()
    {
        var spaceId = await _cluster.CreateSpaceAsync(PlanTier.Pro, "ines");
        var user = _cluster.Grains.GetGrain<IUserGrain>("ines");
        Assert.True((await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-0", new GenerationSpec("recolor")))).Succeeded);

        var services = _cluster.Cluster.Silos[0].ServiceProvider;
        var slotHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = services.GetRequiredService<SnapshotWriteLimiter>().RunAsync(() => slotHeld.Task);

        // Past the snapshot interval the Space wakes up and queues its snapshot behind the held slot, then keeps serving:
        // every write below would, before, have re-armed a wake-up that queued one more snapshot.
        _cluster.Time.Advance(TimeSpan.FromSeconds(31));
        for (var i = 1; i <= 10; i++)
        {
            var reserved = await user.ReserveAsync(spaceId, new ReserveRequest($"{spaceId}-{i}", new GenerationSpec("recolor")));
            Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
            _cluster.Time.Advance(TimeSpan.FromMilliseconds(1));
        }

        using var snapshots = new SnapshotCounter(services);

        slotHeld.SetResult();
        await holder;

        // Deactivation waits for every snapshot queued, then writes the final one: the queued snapshot and the final one.
        await _cluster.Cluster.DeactivateAsync(_cluster.Grains.GetGrain<ISpaceGrain>(spaceId));
        Assert.Equal(2, snapshots.Count);

        // Nothing acknowledged was lost on the way.
        var balance = await _cluster.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(11 * 4, balance!.Held);
    }
}
