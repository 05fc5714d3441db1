namespace QuotaGrains.Domain.Usage;

/// <summary>
/// When a pool runs out at its cycle's burn rate. The rule:
/// <list type="bullet">
/// <item>nothing available now (used + held ≥ allowance): <see cref="ForecastKind.Exhausted"/>;</item>
/// <item>nothing committed this cycle, or less than <c>minimumElapsed</c> since the cycle started: no forecast
/// (<see cref="ForecastKind.None"/>): a Space that spent 4 credits in its first second is not "out in 2 minutes";</item>
/// <item>otherwise rate = used ÷ elapsed, and the pool runs out at now + available ÷ rate (whole seconds, rounded
/// down): <see cref="ForecastKind.RunsOut"/> if that is before the next renewal, else
/// <see cref="ForecastKind.LastsTheCycle"/>.</item>
/// </list>
/// Exact: the instant is computed in 128-bit integer ticks, so any allowance the engine accepts (up to 10^18) and any
/// cycle length give it without overflow or rounding beyond the whole second.
/// </summary>
public static class ExhaustionForecaster
{
    public static ExhaustionForecast Forecast(
        long allowance,
        long used,
        long held,
        DateTimeOffset cycleStart,
        DateTimeOffset nextRenewal,
        DateTimeOffset now,
        TimeSpan minimumElapsed)
    {
        var available = Math.Max(0, allowance - used - held);
        var elapsed = now - cycleStart;
        var perHour = used > 0 && elapsed > TimeSpan.Zero ? used / elapsed.TotalHours : 0;
        if (available == 0)
        {
            return new ExhaustionForecast(ForecastKind.Exhausted, perHour);
        }

        if (used <= 0 || elapsed < minimumElapsed || elapsed <= TimeSpan.Zero)
        {
            return new ExhaustionForecast(ForecastKind.None, perHour);
        }

        // available ÷ (used ÷ elapsed) = available × elapsed ÷ used, in ticks, then down to the whole second.
        var ticks = (Int128)available * elapsed.Ticks / used;
        ticks -= ticks % TimeSpan.TicksPerSecond;
        var left = nextRenewal - now;
        if (ticks >= left.Ticks)
        {
            return new ExhaustionForecast(ForecastKind.LastsTheCycle, perHour);
        }

        return new ExhaustionForecast(ForecastKind.RunsOut, perHour, now + TimeSpan.FromTicks((long)ticks));
    }
}
