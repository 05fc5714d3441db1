using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using QuotaGrains.Domain.Fleet;
using QuotaGrains.Grains.Fleet;

namespace QuotaGrains.Tests.Usage;

/// <summary>The fleet grain's snapshot fits one Azure Table entity (960 KB): the board's size estimate is an upper bound
/// of what Orleans' binary format writes, even for the longest ids and a Space that spent in every minute.</summary>
public sealed class FleetSnapshotSizeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 30, 20, TimeSpan.Zero);

    [Theory]
    [InlineData(8, 0)]
    [InlineData(40, 3)]
    [InlineData(128, 60)]
    public void The_estimate_bounds_the_serialized_size(int idLength, int minutesSpent)
    {
        var board = new FleetBoard();
        for (var i = 0; i < 2_000; i++)
        {
            board.Apply(Report(i, idLength, minutesSpent), Now);
        }

        var snapshot = board.Snapshot(Now, int.MaxValue, FleetGrain.SnapshotBudgetBytes);
        var bytes = Serialized(snapshot);

        Assert.True(bytes <= snapshot.Sum(FleetBoard.EstimatedBytes), $"{bytes} bytes serialized, {snapshot.Sum(FleetBoard.EstimatedBytes)} estimated");
        Assert.True(bytes < 960 * 1024, $"{snapshot.Count} Spaces take {bytes} bytes");
    }

    private static FleetReport Report(int i, int idLength, int minutesSpent)
    {
        var id = i.ToString("D8").PadRight(idLength, 'x');
        var spent = Enumerable.Range(0, minutesSpent).Select(m => new MinuteSpend(MinuteSpend.MinuteOf(Now) - m, 1_000_000_000L + m)).ToArray();
        return new FleetReport(id, PlanTier.Enterprise, 1_000_000_000_000, 999_999_999_999 - i, 123_456_789, Now.AddDays(-20), Now.AddDays(11), 123_456_789_012, Now, spent);
    }

    private static int Serialized(List<FleetReport> snapshot)
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer<FleetSnapshot>>();
        return serializer.SerializeToArray(new FleetSnapshot { Spaces = snapshot }).Length;
    }
}
