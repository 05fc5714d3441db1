using QuotaGrains.Domain.Renewal;

namespace QuotaGrains.Tests.Domain;

public sealed class RenewalScheduleTests
{
    private static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) =>
        new(year, month, day, hour, minute, second, TimeSpan.Zero);

    [Fact]
    public void Monthly_anchor_on_the_31st_keeps_its_day()
    {
        var anchor = Utc(2025, 1, 31, 10);

        Assert.Equal(Utc(2025, 1, 31, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 0));
        Assert.Equal(Utc(2025, 2, 28, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 1));
        Assert.Equal(Utc(2025, 3, 31, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 2));
        Assert.Equal(Utc(2025, 4, 30, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 3));
        Assert.Equal(Utc(2025, 5, 31, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 4));
    }

    [Fact]
    public void Monthly_renewals_chain_through_next_after()
    {
        var anchor = Utc(2025, 1, 31, 10);

        var feb = RenewalSchedule.NextAfter(anchor, BillingCadence.Monthly, anchor);
        var mar = RenewalSchedule.NextAfter(anchor, BillingCadence.Monthly, feb);
        var apr = RenewalSchedule.NextAfter(anchor, BillingCadence.Monthly, mar);

        Assert.Equal(Utc(2025, 2, 28, 10), feb);
        Assert.Equal(Utc(2025, 3, 31, 10), mar);
        Assert.Equal(Utc(2025, 4, 30, 10), apr);
    }

    [Fact]
    public void Leap_year_february_renews_on_the_29th()
    {
        var anchor = Utc(2024, 1, 31, 10);

        Assert.Equal(Utc(2024, 2, 29, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 1));
        Assert.Equal(Utc(2024, 3, 31, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 2));
        Assert.Equal(Utc(2025, 2, 28, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 13));
    }

    [Fact]
    public void Anchor_on_february_29_renews_on_the_29th_afterwards()
    {
        var anchor = Utc(2024, 2, 29, 2, 11, 7);

        Assert.Equal(Utc(2024, 3, 29, 2, 11, 7), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 1));
        Assert.Equal(Utc(2025, 2, 28, 2, 11, 7), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 12));
        Assert.Equal(Utc(2025, 3, 29, 2, 11, 7), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 13));
    }

    [Fact]
    public void Weekly_is_exactly_seven_days()
    {
        var anchor = Utc(2025, 3, 5, 2, 11, 7);

        for (var i = 0; i < 120; i++)
        {
            var occurrence = RenewalSchedule.Occurrence(anchor, BillingCadence.Weekly, i);
            Assert.Equal(anchor + TimeSpan.FromDays(7 * i), occurrence);
            Assert.Equal(DayOfWeek.Wednesday, occurrence.DayOfWeek);
            Assert.Equal(new TimeSpan(2, 11, 7), occurrence.TimeOfDay);
        }

        Assert.Equal(
            new RenewalCycle(Utc(2025, 3, 12, 2, 11, 7), Utc(2025, 3, 19, 2, 11, 7)),
            RenewalSchedule.CycleAt(anchor, BillingCadence.Weekly, Utc(2025, 3, 19, 2, 11, 6)));
    }

    [Fact]
    public void Yearly_renews_monthly()
    {
        var anchor = Utc(2025, 1, 31, 10);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(
                RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, i),
                RenewalSchedule.Occurrence(anchor, BillingCadence.Yearly, i));
        }

        Assert.Equal(Utc(2025, 2, 28, 10), RenewalSchedule.NextAfter(anchor, BillingCadence.Yearly, anchor));
        Assert.Equal(
            new RenewalCycle(Utc(2025, 4, 30, 10), Utc(2025, 5, 31, 10)),
            RenewalSchedule.CycleAt(anchor, BillingCadence.Yearly, Utc(2025, 5, 1)));
    }

    [Fact]
    public void Sub_second_anchor_is_truncated_to_the_second()
    {
        var anchor = Utc(2025, 1, 31, 10).AddTicks(TimeSpan.TicksPerSecond - 1);

        Assert.Equal(Utc(2025, 1, 31, 10), RenewalSchedule.Normalize(anchor));
        Assert.Equal(Utc(2025, 1, 31, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 0));
        Assert.Equal(Utc(2025, 2, 28, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 1));
        Assert.Equal(Utc(2025, 2, 7, 10), RenewalSchedule.Occurrence(anchor, BillingCadence.Weekly, 1));

        // The instant itself is not truncated: 10:00:00.9999999 is in the cycle that started at 10:00:00.
        var cycle = RenewalSchedule.CycleAt(anchor, BillingCadence.Monthly, anchor);
        Assert.Equal(new RenewalCycle(Utc(2025, 1, 31, 10), Utc(2025, 2, 28, 10)), cycle);
    }

    [Fact]
    public void Anchor_with_offset_is_taken_in_utc()
    {
        var anchor = new DateTimeOffset(2025, 1, 31, 12, 0, 0, 500, TimeSpan.FromHours(2));

        var normalized = RenewalSchedule.Normalize(anchor);

        Assert.Equal(TimeSpan.Zero, normalized.Offset);
        Assert.Equal(Utc(2025, 1, 31, 10), normalized);
        Assert.Equal(new DateTime(2025, 2, 28, 10, 0, 0), RenewalSchedule.Occurrence(anchor, BillingCadence.Monthly, 1).DateTime);
    }

    [Theory]
    [InlineData(BillingCadence.Monthly)]
    [InlineData(BillingCadence.Weekly)]
    [InlineData(BillingCadence.Yearly)]
    public void Cycle_at_a_renewal_instant_starts_there_and_one_tick_earlier_is_the_previous_cycle(BillingCadence cadence)
    {
        var anchor = Utc(2025, 1, 31, 10, 0, 0);
        var first = RenewalSchedule.Occurrence(anchor, cadence, 1);
        var second = RenewalSchedule.Occurrence(anchor, cadence, 2);
        var third = RenewalSchedule.Occurrence(anchor, cadence, 3);

        Assert.Equal(new RenewalCycle(second, third), RenewalSchedule.CycleAt(anchor, cadence, second));
        Assert.Equal(new RenewalCycle(first, second), RenewalSchedule.CycleAt(anchor, cadence, second.AddTicks(-1)));
        Assert.Equal(new RenewalCycle(anchor, first), RenewalSchedule.CycleAt(anchor, cadence, anchor));
        Assert.Equal(new RenewalCycle(anchor, first), RenewalSchedule.CycleAt(anchor, cadence, first.AddTicks(-1)));
        Assert.Equal(third, RenewalSchedule.NextAfter(anchor, cadence, second));
        Assert.Equal(second, RenewalSchedule.NextAfter(anchor, cadence, second.AddTicks(-1)));
    }

    [Fact]
    public void Cycle_at_february_renewal_instant()
    {
        var anchor = Utc(2025, 1, 31, 10);

        Assert.Equal(
            new RenewalCycle(Utc(2025, 2, 28, 10), Utc(2025, 3, 31, 10)),
            RenewalSchedule.CycleAt(anchor, BillingCadence.Monthly, Utc(2025, 2, 28, 10)));
        Assert.Equal(
            new RenewalCycle(Utc(2025, 1, 31, 10), Utc(2025, 2, 28, 10)),
            RenewalSchedule.CycleAt(anchor, BillingCadence.Monthly, Utc(2025, 2, 28, 10).AddTicks(-1)));

        // Mar 30 is after Feb 28 but before the Mar 31 renewal.
        Assert.Equal(
            new RenewalCycle(Utc(2025, 2, 28, 10), Utc(2025, 3, 31, 10)),
            RenewalSchedule.CycleAt(anchor, BillingCadence.Monthly, Utc(2025, 3, 31, 9, 59, 59)));
    }

    [Fact]
    public void Cycle_at_takes_an_instant_with_offset_as_the_same_utc_instant()
    {
        var anchor = Utc(2025, 1, 31, 10);

        // 2025-02-28T11:00+01:00 is exactly the Feb 28 10:00Z renewal.
        var cycle = RenewalSchedule.CycleAt(anchor, BillingCadence.Monthly, new DateTimeOffset(2025, 2, 28, 11, 0, 0, TimeSpan.FromHours(1)));

        Assert.Equal(new RenewalCycle(Utc(2025, 2, 28, 10), Utc(2025, 3, 31, 10)), cycle);
    }

    [Fact]
    public void Cycle_at_before_the_anchor_throws_and_next_after_returns_the_anchor()
    {
        var anchor = Utc(2025, 1, 31, 10);

        Assert.Throws<ArgumentOutOfRangeException>(() => RenewalSchedule.CycleAt(anchor, BillingCadence.Monthly, anchor.AddTicks(-1)));
        Assert.Equal(anchor, RenewalSchedule.NextAfter(anchor, BillingCadence.Monthly, anchor.AddDays(-3)));
    }

    [Fact]
    public void Undefined_cadence_throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RenewalSchedule.Occurrence(Utc(2025, 1, 1), (BillingCadence)9, 1));
    }

    [Theory]
    [InlineData(BillingCadence.Monthly)]
    [InlineData(BillingCadence.Weekly)]
    [InlineData(BillingCadence.Yearly)]
    public void Property_cycles_are_contiguous_and_keep_the_anchor_day_and_time(BillingCadence cadence)
    {
        var random = new Random(20250131 + (int)cadence);
        var anchors = new List<DateTimeOffset>();
        for (var day = 28; day <= 31; day++)
        {
            anchors.Add(Utc(2023, 1, day, 23, 59, 59));
            anchors.Add(Utc(2024, 1, day, 0, 0, 0));
            anchors.Add(Utc(2024, 3, day, 23, 59, 59));
            anchors.Add(Utc(2025, 12, day, 0, 0, 0));
        }

        anchors.Add(Utc(2024, 2, 29, 23, 59, 59));
        anchors.Add(Utc(2024, 2, 29, 0, 0, 0));
        while (anchors.Count < 200)
        {
            var year = random.Next(2000, 2040);
            var month = random.Next(1, 13);
            var day = random.Next(0, 3) == 0 ? random.Next(28, DateTime.DaysInMonth(year, month) + 1) : random.Next(1, DateTime.DaysInMonth(year, month) + 1);
            var timeOfDay = random.Next(0, 4) switch
            {
                0 => new TimeSpan(23, 59, 59),
                1 => TimeSpan.Zero,
                _ => TimeSpan.FromSeconds(random.Next(0, 86_400)),
            };

            // Some anchors carry a sub-second part, which renewals drop.
            var ticks = random.Next(0, 2) == 0 ? random.Next(0, (int)TimeSpan.TicksPerSecond) : 0;
            anchors.Add(new DateTimeOffset(new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Unspecified) + timeOfDay, TimeSpan.Zero).AddTicks(ticks));
        }

        foreach (var rawAnchor in anchors)
        {
            var anchor = RenewalSchedule.Normalize(rawAnchor);
            Assert.Equal(0, anchor.Ticks % TimeSpan.TicksPerSecond);
            var cycles = cadence == BillingCadence.Weekly ? 10 * 53 : 10 * 12;
            var start = anchor;
            for (var i = 0; i < cycles; i++)
            {
                var cycle = RenewalSchedule.CycleAt(rawAnchor, cadence, start);
                Assert.Equal(start, cycle.Start);
                Assert.True(cycle.End > cycle.Start, $"Cycle {i} of anchor {rawAnchor:O} does not move forward.");
                Assert.Equal(anchor.TimeOfDay, cycle.End.TimeOfDay);
                Assert.Equal(TimeSpan.Zero, cycle.End.Offset);
                Assert.Equal(RenewalSchedule.Occurrence(rawAnchor, cadence, i + 1), cycle.End);
                if (cadence == BillingCadence.Weekly)
                {
                    Assert.Equal(TimeSpan.FromDays(7), cycle.End - cycle.Start);
                    Assert.Equal(anchor.DayOfWeek, cycle.End.DayOfWeek);
                }
                else
                {
                    var expectedDay = Math.Min(anchor.Day, DateTime.DaysInMonth(cycle.End.Year, cycle.End.Month));
                    Assert.Equal(expectedDay, cycle.End.Day);
                    var months = ((cycle.End.Year - anchor.Year) * 12) + (cycle.End.Month - anchor.Month);
                    Assert.Equal(i + 1, months);
                }

                // The cycle holds every instant in [Start, End): its ends, and an instant inside.
                Assert.Equal(cycle, RenewalSchedule.CycleAt(rawAnchor, cadence, cycle.End.AddTicks(-1)));
                var inside = cycle.Start + TimeSpan.FromTicks((long)(random.NextDouble() * (cycle.End - cycle.Start).Ticks));
                Assert.Equal(cycle, RenewalSchedule.CycleAt(rawAnchor, cadence, inside));
                Assert.Equal(cycle.End, RenewalSchedule.NextAfter(rawAnchor, cadence, inside));

                // Contiguous: the next cycle starts where this one ends.
                start = cycle.End;
            }
        }
    }

    [Theory]
    [InlineData(BillingCadence.Monthly)]
    [InlineData(BillingCadence.Weekly)]
    [InlineData(BillingCadence.Yearly)]
    public void Property_cycle_at_a_random_instant_contains_it(BillingCadence cadence)
    {
        var random = new Random(7 + (int)cadence);
        for (var n = 0; n < 2_000; n++)
        {
            var anchor = Utc(2000, 1, 1).AddSeconds(random.NextInt64(0, 40L * 365 * 86_400)).AddTicks(random.Next(0, (int)TimeSpan.TicksPerSecond));
            if (n % 5 == 0)
            {
                anchor = new DateTimeOffset(anchor.Year, anchor.Month, DateTime.DaysInMonth(anchor.Year, anchor.Month), 23, 59, 59, TimeSpan.Zero);
            }

            var instant = anchor.AddTicks(random.NextInt64(0, TimeSpan.FromDays(10 * 366).Ticks));
            var cycle = RenewalSchedule.CycleAt(anchor, cadence, instant);

            Assert.True(cycle.Start <= instant && instant < cycle.End, $"Anchor {anchor:O}, instant {instant:O}: cycle [{cycle.Start:O}, {cycle.End:O}).");
            Assert.Equal(cycle.End, RenewalSchedule.CycleAt(anchor, cadence, cycle.End).Start);
            Assert.Equal(cycle, RenewalSchedule.CycleAt(anchor, cadence, cycle.Start));
            Assert.Equal(RenewalSchedule.Normalize(anchor).TimeOfDay, cycle.Start.TimeOfDay);
        }
    }
}
