using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Storage;

/// <summary>State stays bounded however long a Space lives: operation ids, closed holds and usage history are
/// pruned by rule, so the snapshot fits an Azure Table entity (Orleans splits it into at most 960 KB).</summary>
public sealed class SnapshotSizeTests
{
    /// <summary>The bound we state for a busy Space's snapshot, well under the 960 KB an entity can carry.</summary>
    private const int MaxSnapshotBytes = 400 * 1024;

    [Fact]
    public void A_Space_after_100000_operations_has_a_snapshot_under_400_KB()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer<SpaceState>>();
        var pool = new SpacePool("busy", new SpaceState(), QuotaRules.Default);
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.True(pool.Create(new CreateSpaceRequest("create", "owner", PlanTier.Enterprise, CustomAllowance: 1_000_000_000), now).Result.Succeeded);
        for (var m = 0; m < 50; m++)
        {
            pool.AddMember(new AddMemberRequest($"add-{m}", "owner", $"member-{m}", SpaceRole.Member), now);
        }

        var operations = 0;
        for (var i = 0; operations < 100_000; i++)
        {
            // Bursts of 4,000 operations, a month apart: two years of renewals and history, and far more
            // operations within a retention window than a snapshot keeps.
            now = i % 2_000 == 0 ? now.AddDays(30) : now.AddSeconds(1);
            var user = $"member-{i % 50}";
            var hold = pool.Reserve(user, new ReserveRequest($"hold-{i:D8}-{Guid.NewGuid():N}", new GenerationSpec(i % 2 == 0 ? "recolor" : "virtual-model"), 1 + (i % 3)), now).Result;
            Assert.True(hold.Succeeded, hold.Rejection?.ToString());
            var settle = new SettleRequest($"settle-{i:D8}-{Guid.NewGuid():N}", hold.HoldId!);
            var settled = i % 5 == 0 ? pool.Refund(user, settle, now).Result : pool.Commit(user, settle, now).Result;
            Assert.True(settled.Succeeded, settled.Rejection?.ToString());
            operations += 2;
        }

        // What SpaceLog writes: a copy of the state, bounded to the most recent operations.
        var snapshot = serializer.Deserialize(serializer.SerializeToArray(pool.State))!;
        (snapshot.Operations, snapshot.ClosedHolds) = pool.RecentWindow(QuotaRules.Default.Spaces.MaxSnapshotOperations);
        var bytes = serializer.SerializeToArray(snapshot).Length;

        Assert.True(bytes < MaxSnapshotBytes, $"snapshot is {bytes} bytes");
        Assert.InRange(snapshot.Operations.Count, 1, QuotaRules.Default.Spaces.MaxSnapshotOperations);
        Assert.True(pool.Operations.Count <= QuotaRules.Default.Spaces.MaxRememberedOperations * 5 / 4);
        Assert.True(pool.State.History.Count <= QuotaRules.Default.Spaces.UsageHistoryCycles);
        Assert.Empty(pool.State.Holds);

        // The most recent operation is still recognized after the trim.
        Assert.Contains(snapshot.Operations.Values, o => o.Sequence == pool.State.Sequence);
    }
}
