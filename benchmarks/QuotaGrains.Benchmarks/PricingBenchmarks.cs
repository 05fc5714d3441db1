using BenchmarkDotNet.Attributes;
using QuotaGrains.Domain.Pricing;

namespace QuotaGrains.Benchmarks;

/// <summary>Pricing one generation (every reserve does this once, before anything else).</summary>
public class PricingBenchmarks
{
    private readonly PriceBook _prices = PriceBook.Default;
    private readonly GenerationSpec _simple = new("ai-shadows");
    private readonly GenerationSpec _video4K = new("virtual-model", MediaKind.Video, ResolutionTier.FourK);
    private readonly GenerationSpec _free = new("background-removal");
    private readonly GenerationSpec _unknown = new("no-such-feature");

    [Benchmark(Baseline = true)]
    public long Simple_image() => _prices.Price(_simple).UnitCredits;

    [Benchmark]
    public long Video_4K() => _prices.Price(_video4K).UnitCredits;

    [Benchmark]
    public bool Free_operation() => _prices.Price(_free).IsFree;

    /// <summary>The refusal path builds a message: what a bad request costs.</summary>
    [Benchmark]
    public bool Unknown_feature() => _prices.Price(_unknown).Succeeded;
}
