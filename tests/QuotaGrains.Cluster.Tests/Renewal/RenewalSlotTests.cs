using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Renewals;

namespace QuotaGrains.Tests.Renewal;

/// <summary>The calendar of the renewal index: every renewal instant of every schedule falls in a minute whose due
/// slots contain the schedule's slot, at the anchor's second, for ten years of instants.</summary>
public sealed class RenewalSlotTests
{
    private static DateTimeOffset Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) => new(y, mo, d, h, mi, s, TimeSpan.Zero);

    [Fact]
    public void A_schedule_falls_in_the_slot_of_its_anchor_day_and_minute()
    {
        var monthly = RenewalSlot.Of(BillingCadence.Monthly, Utc(2026, 1, 31, 2, 11, 7));
        Assert.Equal((false, 31, (2 * 60) + 11), (monthly.IsWeekly, monthly.Day, monthly.MinuteOfDay));
        Assert.Equal("m31-0211", monthly.ToString());
        Assert.Equal(monthly, RenewalSlot.Of(BillingCadence.Yearly, Utc(2024, 7, 31, 2, 11, 59)));
        Assert.Equal(7, RenewalSlot.SecondOf(Utc(2026, 1, 31, 2, 11, 7)));

        var weekly = RenewalSlot.Of(BillingCadence.Weekly, Utc(2026, 1, 14, 23, 59, 59)); // a Wednesday
        Assert.Equal((true, 3, 1439), (weekly.IsWeekly, weekly.Day, weekly.MinuteOfDay));
        Assert.Equal("w3-2359", weekly.ToString());

        // Sub-second parts and offsets are normalized away as the schedule does.
        Assert.Equal(monthly, RenewalSlot.Of(BillingCadence.Monthly, new DateTimeOffset(2026, 1, 31, 4, 11, 7, 900, TimeSpan.FromHours(2))));
        Assert.Equal(0, RenewalSlot.Of(BillingCadence.Monthly, Utc(2026, 1, 1)).Index);
        Assert.Equal(RenewalSlot.Count - 1, RenewalSlot.Of(BillingCadence.Weekly, Utc(2026, 1, 17, 23, 59)).Index);
    }

    [Fact]
    public void A_months_last_day_is_also_due_for_the_days_the_month_lacks()
    {
        static string[] Due(DateTimeOffset minute) => RenewalSlot.DueIn(minute).Select(s => s.ToString()).ToArray();

        Assert.Equal(["w6-0211", "m28-0211", "m29-0211", "m30-0211", "m31-0211"], Due(Utc(2026, 2, 28, 2, 11, 30)));
        Assert.Equal(["w2-0211", "m29-0211", "m30-0211", "m31-0211"], Due(Utc(2028, 2, 29, 2, 11)));
        Assert.Equal(["w1-0000", "m28-0000"], Due(Utc(2028, 2, 28)));
        Assert.Equal(["w4-2359", "m30-2359", "m31-2359"], Due(Utc(2026, 4, 30, 23, 59, 59)));
        Assert.Equal(["w6-2359", "m31-2359"], Due(Utc(2026, 1, 31, 23, 59)));
        Assert.Equal(["w5-1200", "m30-1200"], Due(Utc(2026, 1, 30, 12, 0)));
    }

    [Fact]
    public void Every_renewal_instant_over_ten_years_is_due_in_its_minute_at_the_anchors_second()
    {
        var random = new Random(20260115);
        var anchors = new List<DateTimeOffset>
        {
            Utc(2024, 1, 31, 23, 59, 59), Utc(2024, 2, 29), Utc(2025, 3, 31, 0, 0, 0), Utc(2026, 1, 30, 12, 30, 30),
            Utc(2026, 8, 29, 23, 59, 59), Utc(2026, 12, 31, 0, 0, 1), Utc(2027, 5, 1), Utc(2028, 2, 28, 23, 59, 59),
        };
        for (var i = 0; i < 60; i++)
        {
            anchors.Add(Utc(2024, 1, 1).AddSeconds(random.NextInt64(0, 3L * 365 * 24 * 3600)));
        }

        var checkedInstants = 0;
        foreach (var anchor in anchors)
        {
            foreach (var cadence in new[] { BillingCadence.Monthly, BillingCadence.Weekly, BillingCadence.Yearly })
            {
                var slot = RenewalSlot.Of(cadence, anchor);
                var second = RenewalSlot.SecondOf(anchor);
                var end = anchor.AddYears(10);
                for (var k = 0L; ; k++)
                {
                    var instant = RenewalSchedule.Occurrence(anchor, cadence, k);
                    if (instant > end)
                    {
                        break;
                    }

                    var minute = RenewalSlot.MinuteOf(instant);
                    Assert.Contains(slot, RenewalSlot.DueIn(minute));
                    Assert.Equal(minute.AddSeconds(second), instant);
                    checkedInstants++;
                }
            }
        }

        Assert.True(checkedInstants > 68 * (120 + 120 + 520), $"only {checkedInstants} instants checked");
    }

    [Fact]
    public void A_minute_is_due_only_for_slots_whose_schedules_can_renew_in_it()
    {
        // Over two years, each monthly slot is due once a month (twelve times a year) and each weekly slot once a week.
        var dueCount = new int[RenewalSlot.Count];
        for (var minute = Utc(2027, 1, 1); minute < Utc(2029, 1, 1); minute = minute.AddMinutes(1))
        {
            foreach (var slot in RenewalSlot.DueIn(minute))
            {
                dueCount[slot.Index]++;
            }
        }

        Assert.All(Enumerable.Range(0, RenewalSlot.MonthlySlots), i => Assert.Equal(24, dueCount[i]));
        Assert.All(Enumerable.Range(RenewalSlot.MonthlySlots, RenewalSlot.WeeklySlots), i => Assert.InRange(dueCount[i], 104, 105));
    }

    [Theory]
    [InlineData("m31-2359/7", false, 31, 1439, 7)]
    [InlineData("m1-0000/0", false, 1, 0, 0)]
    [InlineData("w0-0959/15", true, 0, 599, 15)]
    public void Index_keys_name_a_slot_and_a_shard(string key, bool weekly, int day, int minuteOfDay, int shard)
    {
        Assert.True(RenewalIndex.TryParseKey(key, out var slot, out var parsedShard));
        Assert.Equal((weekly, day, minuteOfDay, shard), (slot.IsWeekly, slot.Day, slot.MinuteOfDay, parsedShard));
        Assert.Equal(key, RenewalIndex.KeyOf(slot, shard));
    }

    [Theory]
    [InlineData("m32-0000/0")]
    [InlineData("w7-0000/0")]
    [InlineData("m0-0000/0")]
    [InlineData("m1-2400/0")]
    [InlineData("m1-0060/0")]
    [InlineData("x1-0000/0")]
    [InlineData("m1-000/0")]
    [InlineData("m1-0000")]
    [InlineData("m1-0000/-1")]
    public void Malformed_index_keys_are_refused(string key) => Assert.False(RenewalIndex.TryParseKey(key, out _, out _));
}
