using QuotaGrains.Domain.Fleet;

namespace QuotaGrains.Tests.Fleet;

/// <summary>The fleet view's board: ordering by exhaustion, the last hour's edges, totals per plan, stale reports, and
/// what a snapshot keeps.</summary>
public sealed class FleetBoardTests
{
    private static readonly DateTimeOffset CycleStart = new(2026, 3, 10, 2, 30, 20, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 30, 20, TimeSpan.Zero);
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private static FleetReport Report(string id, long allowance, long used, long held = 0, PlanTier plan = PlanTier.Pro, long sequence = 1, DateTimeOffset? nextRenewal = null, params (DateTimeOffset At, long Credits)[] spent) =>
        new(id, plan, allowance, used, held, CycleStart, nextRenewal ?? CycleStart.AddMonths(1), sequence, Now.AddSeconds(-1),
            spent.Select(s => new MinuteSpend(MinuteSpend.MinuteOf(s.At), s.Credits)).ToArray());

    private static FleetBoard Board(params FleetReport[] reports) => FleetBoard.Restore(reports, Now);

    [Fact]
    public void Closest_to_exhaustion_is_the_least_available_share_then_the_earliest_forecast()
    {
        var board = Board(
            Report("a", 500, 400, held: 50),                               // 10 % left, 40 an hour: out in 1 h 15 min
            Report("b", 100, 90),                                          // 10 % left, 9 an hour: out in 1 h 6 min 40 s
            Report("c", 1_500, 1_500, plan: PlanTier.Max),                 // nothing left
            Report("d", 500, 10),                                          // 98 % left
            Report("e", 500, 499, nextRenewal: Now));                      // its cycle ended: renewed since

        var view = board.View(Now, 3, Hour, Interval);

        Assert.Equal(["c", "b", "a"], view.ClosestToExhaustion.Select(s => s.SpaceId));
        Assert.Equal(
            new FleetSpace("c", PlanTier.Max, 1_500, 1_500, 0, 0, 100, CycleStart.AddMonths(1), new ExhaustionForecast(ForecastKind.Exhausted, 150), Now.AddSeconds(-1)),
            view.ClosestToExhaustion[0]);
        Assert.Equal(new ExhaustionForecast(ForecastKind.RunsOut, 9, Now.AddSeconds(4_000)), view.ClosestToExhaustion[1].Forecast);
        Assert.Equal((50L, 80.0), (view.ClosestToExhaustion[2].Available, view.ClosestToExhaustion[2].PercentUsed));
        Assert.Equal((Now, 5, Interval), (view.AsOf, view.SpacesTracked, view.ReportInterval));
        Assert.Equal(["c", "b", "a", "d"], board.View(Now, 10, Hour, Interval).ClosestToExhaustion.Select(s => s.SpaceId));
    }

    [Fact]
    public void The_last_hour_is_the_current_minute_and_the_fifty_nine_before_it()
    {
        var board = Board(
            Report("a", 500, 15, spent: [(new(2026, 3, 10, 11, 30, 59, TimeSpan.Zero), 7), (new(2026, 3, 10, 11, 31, 0, TimeSpan.Zero), 5), (Now.AddSeconds(-10), 3)]),
            Report("b", 500, 9, spent: [(Now, 9)]),
            Report("c", 500, 8, spent: [(Now.AddMinutes(-30), 8)]),
            Report("d", 500, 100));

        // At 12:30:20: 11:31 to 12:30 count, 11:30:59 does not.
        var view = board.View(Now, 10, Hour, Interval);
        Assert.Equal([new FleetSpender("b", PlanTier.Pro, 9), new FleetSpender("a", PlanTier.Pro, 8), new FleetSpender("c", PlanTier.Pro, 8)], view.TopSpendersLastHour);
        Assert.Equal(["b", "a"], board.View(Now, 2, Hour, Interval).TopSpendersLastHour.Select(s => s.SpaceId));

        // At 12:30:59 still; at 12:31:00 the minute of 11:31 leaves.
        Assert.Equal(8, board.View(new(2026, 3, 10, 12, 30, 59, TimeSpan.Zero), 10, Hour, Interval).TopSpendersLastHour.Single(s => s.SpaceId == "a").CreditsLastHour);
        Assert.Equal(3, board.View(new(2026, 3, 10, 12, 31, 0, TimeSpan.Zero), 10, Hour, Interval).TopSpendersLastHour.Single(s => s.SpaceId == "a").CreditsLastHour);

        // An hour after the last commit nobody is a spender any more.
        Assert.Empty(board.View(Now.AddMinutes(60), 10, Hour, Interval).TopSpendersLastHour);
    }

    [Fact]
    public void Spending_of_several_reports_adds_up_by_minute_and_an_older_report_does_not_replace_newer_figures()
    {
        var board = Board(Report("a", 500, 50, sequence: 10, spent: [(Now, 5)]));

        board.Apply(Report("a", 500, 45, sequence: 9, spent: [(Now.AddMinutes(-1), 3)]), Now);
        board.Apply(Report("a", 500, 52, held: 4, sequence: 12, spent: [(Now, 2)]), Now);
        board.Apply(Report("a", 500, 40, sequence: 11), Now);

        var view = board.View(Now, 10, Hour, Interval);
        Assert.Equal((52L, 4L), (view.ClosestToExhaustion[0].Used, view.ClosestToExhaustion[0].Held));
        Assert.Equal(10, Assert.Single(view.TopSpendersLastHour).CreditsLastHour);
        Assert.Equal(1, view.SpacesTracked);
    }

    [Fact]
    public void Totals_per_plan_sum_the_pools_and_a_renewed_Space_counts_nothing_used()
    {
        var board = Board(
            Report("a", 500, 100, held: 5),
            Report("b", 500, 30, held: 1),
            Report("c", 500, 400, held: 2, nextRenewal: Now),
            Report("d", 1_500, 700, plan: PlanTier.Max),
            Report("e", 100, 100, plan: PlanTier.Free));

        Assert.Equal(
            [new PlanTotals(PlanTier.Free, 1, 100, 100, 0), new PlanTotals(PlanTier.Pro, 3, 1_500, 130, 8), new PlanTotals(PlanTier.Max, 1, 1_500, 700, 0)],
            board.View(Now, 10, Hour, Interval).ByPlan);
    }

    [Fact]
    public void A_snapshot_keeps_the_Spaces_closest_to_exhaustion_with_their_last_hour()
    {
        var board = Board(
            Report("a", 500, 450, spent: [(Now.AddMinutes(-61), 100), (Now.AddMinutes(-5), 4)]),
            Report("b", 500, 10),
            Report("c", 500, 499, spent: [(Now, 1)]));

        var snapshot = board.Snapshot(Now, 2, int.MaxValue);

        Assert.Equal(["c", "a"], snapshot.Select(r => r.SpaceId));
        Assert.Equal([new MinuteSpend(MinuteSpend.MinuteOf(Now.AddMinutes(-5)), 4)], snapshot[1].Spent);
        var restored = FleetBoard.Restore(snapshot, Now).View(Now, 10, Hour, Interval);
        Assert.Equal(board.View(Now, 2, Hour, Interval).ClosestToExhaustion, restored.ClosestToExhaustion);
        Assert.Equal([new FleetSpender("a", PlanTier.Pro, 4), new FleetSpender("c", PlanTier.Pro, 1)], restored.TopSpendersLastHour);

        // A byte budget cuts it short: "c" takes 100 + 3 + 16 bytes.
        Assert.Equal(["c"], board.Snapshot(Now, 3, 119 + 118).Select(r => r.SpaceId));
        Assert.Equal(["c", "a"], board.Snapshot(Now, 3, 119 + 119).Select(r => r.SpaceId));
    }

    [Fact]
    public void Minutes_are_counted_from_the_Unix_epoch_in_UTC()
    {
        Assert.Equal(29_552_430, MinuteSpend.MinuteOf(Now));
        Assert.Equal(29_552_430, MinuteSpend.MinuteOf(new DateTimeOffset(2026, 3, 10, 14, 30, 59, TimeSpan.FromHours(2))));
        Assert.Equal(-1, MinuteSpend.MinuteOf(DateTimeOffset.UnixEpoch.AddSeconds(-1)));
        Assert.Equal(-1, MinuteSpend.MinuteOf(DateTimeOffset.UnixEpoch.AddSeconds(-60)));
        Assert.Equal(-2, MinuteSpend.MinuteOf(DateTimeOffset.UnixEpoch.AddSeconds(-61)));
    }
}
