namespace QuotaGrains.Domain.Renewal;

/// <summary>A renewal cycle: [Start, End). End is the next renewal instant.</summary>
public readonly record struct RenewalCycle(DateTimeOffset Start, DateTimeOffset End);

/// <summary>
/// When credits renew, in UTC to the second. Weekly: every 7 days from the anchor. Monthly and yearly: the anchor's
/// day of month and time of day, on the month's last day when the month is shorter; the anchor day is kept
/// (Jan 31 → Feb 28/29 → Mar 31) because every occurrence is computed from the anchor, never from the previous one.
/// </summary>
public static class RenewalSchedule
{
    private static readonly TimeSpan Week = TimeSpan.FromDays(7);

    /// <summary>The anchor as renewals use it: UTC, whole seconds.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    /// <summary>The <paramref name="index"/>-th renewal instant (index 0 is the anchor itself).</summary>
    public static DateTimeOffset Occurrence(DateTimeOffset anchor, BillingCadence cadence, long index)
    {
        anchor = Normalize(anchor);
        return cadence switch
        {
            BillingCadence.Weekly => anchor + (Week * index),
            BillingCadence.Monthly or BillingCadence.Yearly => anchor.AddMonths(checked((int)index)),
            _ => throw new ArgumentOutOfRangeException(nameof(cadence), cadence, "Unknown cadence."),
        };
    }

    /// <summary>The cycle that contains <paramref name="instant"/>, which must not be before the anchor.</summary>
    public static RenewalCycle CycleAt(DateTimeOffset anchor, BillingCadence cadence, DateTimeOffset instant)
    {
        anchor = Normalize(anchor);
        instant = instant.ToUniversalTime();
        if (instant < anchor)
        {
            throw new ArgumentOutOfRangeException(nameof(instant), instant, "The instant is before the subscription anchor.");
        }

        long index = cadence switch
        {
            BillingCadence.Weekly => (instant - anchor).Ticks / Week.Ticks,
            _ => ((instant.Year - anchor.Year) * 12L) + (instant.Month - anchor.Month),
        };

        // The month estimate can be one off either way (day and time of day within the month).
        while (index > 0 && Occurrence(anchor, cadence, index) > instant)
        {
            index--;
        }

        while (Occurrence(anchor, cadence, index + 1) <= instant)
        {
            index++;
        }

        return new RenewalCycle(Occurrence(anchor, cadence, index), Occurrence(anchor, cadence, index + 1));
    }

    /// <summary>The first renewal instant strictly after <paramref name="instant"/>.</summary>
    public static DateTimeOffset NextAfter(DateTimeOffset anchor, BillingCadence cadence, DateTimeOffset instant) =>
        instant < Normalize(anchor) ? Normalize(anchor) : CycleAt(anchor, cadence, instant).End;
}
