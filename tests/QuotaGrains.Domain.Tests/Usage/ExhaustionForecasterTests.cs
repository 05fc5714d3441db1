using QuotaGrains.Domain.Usage;

namespace QuotaGrains.Tests.Usage;

/// <summary>The exhaustion forecast from the cycle's burn rate, exactly: rate = used ÷ elapsed, out at now + available ÷
/// rate (whole seconds, rounded down), none before the minimum elapsed time or without spending.</summary>
public sealed class ExhaustionForecasterTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 15, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Renewal = new(2026, 2, 15, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private static ExhaustionForecast Forecast(long allowance, long used, long held, DateTimeOffset now, DateTimeOffset? renewal = null) =>
        ExhaustionForecaster.Forecast(allowance, used, held, Start, renewal ?? Renewal, now, Hour);

    [Fact]
    public void At_the_cycle_rate_the_pool_runs_out_when_what_is_available_is_spent()
    {
        // 300 in 24 h: 12.5 an hour; 1,200 left: 96 h more.
        var forecast = Forecast(1_500, 300, 0, Start.AddHours(24));

        Assert.Equal(new ExhaustionForecast(ForecastKind.RunsOut, 12.5, new DateTimeOffset(2026, 1, 20, 10, 0, 0, TimeSpan.Zero)), forecast);
    }

    [Fact]
    public void Held_credits_count_as_spent()
    {
        // 1,000 left at 12.5 an hour: 80 h.
        var forecast = Forecast(1_500, 300, 200, Start.AddHours(24));

        Assert.Equal(new ExhaustionForecast(ForecastKind.RunsOut, 12.5, new DateTimeOffset(2026, 1, 19, 18, 0, 0, TimeSpan.Zero)), forecast);
    }

    [Fact]
    public void A_slow_rate_lasts_the_cycle()
    {
        // 30 in 24 h: 1,470 left would take 1,176 h; the renewal is 720 h away.
        Assert.Equal(new ExhaustionForecast(ForecastKind.LastsTheCycle, 1.25), Forecast(1_500, 30, 0, Start.AddHours(24)));
    }

    [Fact]
    public void Running_out_exactly_at_the_renewal_lasts_the_cycle_and_a_second_before_it_does_not()
    {
        // 100 in 10 h, 100 left: out 10 h from now, at start + 20 h.
        var now = Start.AddHours(10);
        Assert.Equal(ForecastKind.LastsTheCycle, Forecast(200, 100, 0, now, Start.AddHours(20)).Kind);
        Assert.Equal(
            new ExhaustionForecast(ForecastKind.RunsOut, 10, Start.AddHours(20)),
            Forecast(200, 100, 0, now, Start.AddHours(20).AddSeconds(1)));
    }

    [Fact]
    public void The_instant_is_rounded_down_to_the_whole_second()
    {
        // 7 in 1 h, 10 left: 10 × 3,600 ÷ 7 = 5,142.857… s.
        var now = Start.AddHours(1);
        Assert.Equal(now.AddSeconds(5_142), Forecast(17, 7, 0, now).RunsOutAt);
    }

    [Fact]
    public void Nothing_spent_or_too_little_elapsed_gives_no_forecast()
    {
        Assert.Equal(new ExhaustionForecast(ForecastKind.None, 0), Forecast(1_500, 0, 100, Start.AddDays(3)));

        // 60 in 59 min 59 s: a rate, but no forecast yet; at exactly 1 h one.
        var early = Forecast(1_500, 60, 0, Start.AddHours(1).AddSeconds(-1));
        Assert.Equal(ForecastKind.None, early.Kind);
        Assert.Null(early.RunsOutAt);
        Assert.Equal(new ExhaustionForecast(ForecastKind.RunsOut, 60, Start.AddHours(25)), Forecast(1_500, 60, 0, Start.AddHours(1)));
    }

    [Fact]
    public void A_pool_with_nothing_available_is_exhausted_at_once()
    {
        Assert.Equal(new ExhaustionForecast(ForecastKind.Exhausted, 140), Forecast(1_500, 1_400, 100, Start.AddHours(10)));

        // Held alone can take it all: nothing committed, still nothing to spend.
        Assert.Equal(ForecastKind.Exhausted, Forecast(100, 0, 100, Start.AddMinutes(1)).Kind);
    }

    [Fact]
    public void The_largest_allowance_over_a_long_cycle_does_not_overflow()
    {
        var renewal = Start.AddYears(1);
        Assert.Equal(ForecastKind.LastsTheCycle, Forecast(1_000_000_000_000_000_000, 1, 0, Start.AddDays(300), renewal).Kind);
        var spent = Forecast(1_000_000_000_000_000_000, 999_999_999_999_999_000, 0, Start.AddDays(300), renewal);
        Assert.Equal(ForecastKind.RunsOut, spent.Kind);
        Assert.Equal(Start.AddDays(300), spent.RunsOutAt);
    }
}
