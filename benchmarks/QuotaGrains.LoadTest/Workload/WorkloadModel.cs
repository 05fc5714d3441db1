using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.LoadTest.Options;

namespace QuotaGrains.LoadTest.Workload;

/// <summary>One kind of generation the workload asks for, with its price in the default price book.</summary>
public sealed record SpecChoice(int Index, GenerationSpec Spec, long UnitCredits, bool IsFree, double Weight);

/// <summary>A Space of the workload: id, plan, allowance and its members (member 0 is the Owner).</summary>
public sealed record SpaceModel(int Index, string Id, PlanTier Plan, long? CustomAllowance, long Allowance, int[] Members);

/// <summary>
/// The Spaces, users and generation kinds of a run, all derived from the options and the seed, so that every
/// target sees the same world. Ids carry a run id, so runs never share state on a long-lived cluster or Redis.
/// </summary>
public sealed class WorkloadModel
{
    /// <summary>The generation mix: mostly cheap images, some complex and 4K ones, a few videos and free operations.</summary>
    private static readonly (GenerationSpec Spec, double Weight)[] Mix =
    [
        (new GenerationSpec("ai-shadows"), 35),
        (new GenerationSpec("ai-backgrounds", MediaKind.Image, ResolutionTier.Hd), 15),
        (new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd), 15),
        (new GenerationSpec("edit-with-ai"), 10),
        (new GenerationSpec("recolor", MediaKind.Image, ResolutionTier.FourK), 10),
        (new GenerationSpec("ai-video", MediaKind.Video), 5),
        (new GenerationSpec("virtual-model", MediaKind.Video, ResolutionTier.Hd), 2),
        (new GenerationSpec("background-removal"), 8),
    ];

    private readonly double[] _specCumulative;

    public WorkloadModel(WorkloadOptions options, string runId, DateTimeOffset now)
    {
        Options = options;
        RunId = runId;
        var prices = PriceBook.Default;
        Specs = Mix.Select((m, i) =>
        {
            var quote = prices.Price(m.Spec);
            if (!quote.Succeeded)
            {
                throw new InvalidOperationException($"The default price book cannot price {m.Spec}: {quote.Rejection}.");
            }

            return new SpecChoice(i, m.Spec, quote.UnitCredits, quote.IsFree, m.Weight);
        }).ToArray();
        _specCumulative = Cumulative(Specs.Select(s => s.Weight));

        UserIds = new string[options.EffectiveUsers];
        for (var u = 0; u < UserIds.Length; u++)
        {
            UserIds[u] = $"lt-{runId}-u{u}";
        }

        var catalog = PlanCatalog.Default.VersionAt(now);
        var planCumulative = Cumulative(options.PlanMix.Select(p => p.Weight));
        var random = new Random(options.Seed);
        Spaces = new SpaceModel[options.Spaces];
        for (var s = 0; s < Spaces.Length; s++)
        {
            var plan = options.PlanMix[Pick(planCumulative, random.NextDouble())].Plan;
            long? custom = plan == PlanTier.Enterprise ? options.EnterpriseAllowance : null;
            var members = new int[options.MembersPerSpace];
            for (var j = 0; j < members.Length; j++)
            {
                members[j] = (int)(((long)s * options.MembersPerSpace + j) % UserIds.Length);
            }

            Spaces[s] = new SpaceModel(s, $"lt-{runId}-s{s}", plan, custom, catalog.AllowanceOf(plan, custom), members);
        }

        SpacePicker = options.Skew == SkewKind.Zipf ? new ZipfSampler(options.Spaces, options.ZipfExponent) : null;
    }

    public WorkloadOptions Options { get; }

    public string RunId { get; }

    public SpaceModel[] Spaces { get; }

    public string[] UserIds { get; }

    public SpecChoice[] Specs { get; }

    /// <summary>Null for a uniform pick.</summary>
    public ZipfSampler? SpacePicker { get; }

    public int PickSpace(Random random) => SpacePicker?.Sample(random) ?? random.Next(Spaces.Length);

    public SpecChoice PickSpec(Random random) => Specs[Pick(_specCumulative, random.NextDouble())];

    private static double[] Cumulative(IEnumerable<double> weights)
    {
        var list = weights.ToArray();
        var total = list.Sum();
        var cumulative = new double[list.Length];
        var sum = 0.0;
        for (var i = 0; i < list.Length; i++)
        {
            sum += list[i] / total;
            cumulative[i] = sum;
        }

        cumulative[^1] = 1.0;
        return cumulative;
    }

    private static int Pick(double[] cumulative, double u)
    {
        var index = Array.BinarySearch(cumulative, u);
        index = index < 0 ? ~index : index;
        return Math.Min(index, cumulative.Length - 1);
    }
}

/// <summary>Picks ranks 0..n-1 with probability ∝ 1/(rank+1)^s, by binary search over the cumulative weights.</summary>
public sealed class ZipfSampler
{
    private readonly double[] _cumulative;

    public ZipfSampler(int n, double exponent)
    {
        _cumulative = new double[n];
        var sum = 0.0;
        for (var k = 0; k < n; k++)
        {
            sum += 1.0 / Math.Pow(k + 1, exponent);
            _cumulative[k] = sum;
        }

        for (var k = 0; k < n; k++)
        {
            _cumulative[k] /= sum;
        }

        _cumulative[^1] = 1.0;
    }

    /// <summary>The probability of the most popular rank.</summary>
    public double TopShare => _cumulative[0];

    public int Sample(Random random)
    {
        var index = Array.BinarySearch(_cumulative, random.NextDouble());
        index = index < 0 ? ~index : index;
        return Math.Min(index, _cumulative.Length - 1);
    }
}
