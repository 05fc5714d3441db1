using BenchmarkDotNet.Attributes;
using QuotaGrains.Domain.Renewal;

namespace QuotaGrains.Benchmarks;

/// <summary>The renewal schedule: the cycle containing an instant, for a subscription anchored on a month's last day.</summary>
public class RenewalBenchmarks
{
    private static readonly DateTimeOffset Anchor = new(2024, 1, 31, 2, 11, 7, TimeSpan.Zero);

    /// <summary>How far the instant is from the anchor, in days (a month in, and about three years in).</summary>
    [Params(20, 1_000)]
    public int DaysAfterAnchor { get; set; }

    private DateTimeOffset _instant;

    [GlobalSetup]
    public void Setup() => _instant = Anchor.AddDays(DaysAfterAnchor).AddHours(5);

    [Benchmark(Baseline = true)]
    public DateTimeOffset Monthly_CycleAt() => RenewalSchedule.CycleAt(Anchor, BillingCadence.Monthly, _instant).End;

    [Benchmark]
    public DateTimeOffset Weekly_CycleAt() => RenewalSchedule.CycleAt(Anchor, BillingCadence.Weekly, _instant).End;

    [Benchmark]
    public DateTimeOffset Monthly_NextAfter() => RenewalSchedule.NextAfter(Anchor, BillingCadence.Monthly, _instant);
}
