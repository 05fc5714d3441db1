namespace QuotaGrains.Domain.Renewal;

/// <summary>
/// Where a renewal schedule falls in the calendar, to the minute: for monthly (and yearly) schedules the anchor's day
/// of month and minute of day, for weekly ones its weekday and minute of day. Every renewal instant of a schedule lies
/// in a minute whose <see cref="DueIn"/> contains the schedule's slot, at the anchor's second of that minute: the slot
/// of a Space is a fact of its subscription, so an index of Spaces by slot is written once, not once per renewal.
/// There are <see cref="Count"/> slots: 31 × 1,440 monthly, then 7 × 1,440 weekly.
/// </summary>
public readonly record struct RenewalSlot
{
    public const int MinutesPerDay = 24 * 60;
    public const int MonthlySlots = 31 * MinutesPerDay;
    public const int WeeklySlots = 7 * MinutesPerDay;
    public const int Count = MonthlySlots + WeeklySlots;

    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    public RenewalSlot(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        Index = index;
    }

    /// <summary>0 ≤ Index &lt; <see cref="Count"/>.</summary>
    public int Index { get; }

    public bool IsWeekly => Index >= MonthlySlots;

    /// <summary>Monthly: the day of month (1–31); weekly: the weekday (0 = Sunday … 6).</summary>
    public int Day => IsWeekly ? (Index - MonthlySlots) / MinutesPerDay : (Index / MinutesPerDay) + 1;

    public int MinuteOfDay => (IsWeekly ? Index - MonthlySlots : Index) % MinutesPerDay;

    /// <summary>The slot of a schedule: weekly by weekday, monthly and yearly (credits renew monthly) by day of month.</summary>
    public static RenewalSlot Of(BillingCadence cadence, DateTimeOffset anchor)
    {
        anchor = RenewalSchedule.Normalize(anchor);
        var minuteOfDay = (anchor.Hour * 60) + anchor.Minute;
        return cadence switch
        {
            BillingCadence.Weekly => Weekly((int)anchor.DayOfWeek, minuteOfDay),
            BillingCadence.Monthly or BillingCadence.Yearly => Monthly(anchor.Day, minuteOfDay),
            _ => throw new ArgumentOutOfRangeException(nameof(cadence), cadence, "Unknown cadence."),
        };
    }

    public static RenewalSlot Monthly(int dayOfMonth, int minuteOfDay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dayOfMonth, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dayOfMonth, 31);
        ArgumentOutOfRangeException.ThrowIfNegative(minuteOfDay);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(minuteOfDay, MinutesPerDay);
        return new RenewalSlot(((dayOfMonth - 1) * MinutesPerDay) + minuteOfDay);
    }

    public static RenewalSlot Weekly(int dayOfWeek, int minuteOfDay)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dayOfWeek);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(dayOfWeek, 6);
        ArgumentOutOfRangeException.ThrowIfNegative(minuteOfDay);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(minuteOfDay, MinutesPerDay);
        return new RenewalSlot(MonthlySlots + (dayOfWeek * MinutesPerDay) + minuteOfDay);
    }

    /// <summary>The second of the minute at which a schedule anchored at <paramref name="anchor"/> renews.</summary>
    public static int SecondOf(DateTimeOffset anchor) => RenewalSchedule.Normalize(anchor).Second;

    /// <summary>The start of the UTC minute that contains <paramref name="instant"/>.</summary>
    public static DateTimeOffset MinuteOf(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % Minute.Ticks), TimeSpan.Zero);
    }

    /// <summary>
    /// The slots whose schedules may renew in the minute starting at <paramref name="minute"/>: the weekday's, the
    /// day of month's and, on a month's last day, those of the days the month lacks (29–31), which renew then.
    /// </summary>
    public static IReadOnlyList<RenewalSlot> DueIn(DateTimeOffset minute)
    {
        minute = MinuteOf(minute);
        var minuteOfDay = (minute.Hour * 60) + minute.Minute;
        var slots = new List<RenewalSlot>(5) { Weekly((int)minute.DayOfWeek, minuteOfDay), Monthly(minute.Day, minuteOfDay) };
        if (minute.Day == DateTime.DaysInMonth(minute.Year, minute.Month))
        {
            for (var day = minute.Day + 1; day <= 31; day++)
            {
                slots.Add(Monthly(day, minuteOfDay));
            }
        }

        return slots;
    }

    /// <summary><c>m31-2359</c> (monthly, day 31, 23:59) or <c>w3-0959</c> (weekly, Wednesday, 09:59).</summary>
    public override string ToString() =>
        $"{(IsWeekly ? 'w' : 'm')}{Day}-{MinuteOfDay / 60:D2}{MinuteOfDay % 60:D2}";
}
