namespace QuotaGrains.Domain.Plans;

/// <summary>The allowances of one catalog version. Enterprise has none of its own: it is set per Space.</summary>
public sealed record PlanCatalogVersion(int Version, DateTimeOffset EffectiveFrom, long Free, long Pro, long Max, long Ultra)
{
    /// <summary>The allowance of <paramref name="plan"/>; for Enterprise, <paramref name="customAllowance"/>.</summary>
    public long AllowanceOf(PlanTier plan, long? customAllowance) => plan switch
    {
        PlanTier.Free => Free,
        PlanTier.Pro => Pro,
        PlanTier.Max => Max,
        PlanTier.Ultra => Ultra,
        PlanTier.Enterprise => customAllowance ?? throw new ArgumentException("Enterprise needs a custom allowance.", nameof(customAllowance)),
        _ => throw new ArgumentOutOfRangeException(nameof(plan), plan, "Unknown plan."),
    };
}

/// <summary>The plan catalog: versions of the allowance table, each effective from an instant.</summary>
public sealed class PlanCatalog
{
    private readonly PlanCatalogVersion[] _versions;

    public PlanCatalog(PlanCatalogOptions options)
    {
        var problems = Validate(options).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid plan catalog: " + string.Join(" ", problems), nameof(options));
        }

        _versions = options.Versions.OrderBy(v => v.EffectiveFrom).Select(Build).ToArray();
    }

    public static PlanCatalog Default { get; } = new(PlanCatalogOptions.CreateDefault());

    public IReadOnlyList<PlanCatalogVersion> Versions => _versions;

    /// <summary>The version in effect at <paramref name="instant"/>: the latest whose EffectiveFrom is not after it.</summary>
    public PlanCatalogVersion VersionAt(DateTimeOffset instant)
    {
        var found = _versions[0];
        foreach (var version in _versions)
        {
            if (version.EffectiveFrom > instant)
            {
                break;
            }

            found = version;
        }

        return found;
    }

    /// <summary>A version by number; a Space keeps the number of the version its cycle started with.</summary>
    public PlanCatalogVersion Get(int version) =>
        Array.Find(_versions, v => v.Version == version) ?? throw new KeyNotFoundException($"Plan catalog version {version} is not configured.");

    public static IEnumerable<string> Validate(PlanCatalogOptions options)
    {
        if (options.Versions.Count == 0)
        {
            yield return "It has no version.";
            yield break;
        }

        if (options.Versions.Select(v => v.Version).Distinct().Count() != options.Versions.Count)
        {
            yield return "Version numbers must be unique.";
        }

        var ordered = options.Versions.OrderBy(v => v.EffectiveFrom).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Version <= ordered[i - 1].Version)
            {
                yield return "Later versions must have higher numbers.";
            }

            if (ordered[i].EffectiveFrom == ordered[i - 1].EffectiveFrom)
            {
                yield return "Two versions take effect at the same instant.";
            }
        }

        // With these bounds the largest tier is 10^9 × 1,000³ = 10^18 credits, the same bound as a custom allowance
        // (SpaceRulesOptions.MaxCustomAllowanceLimit): no sum of credits the engine forms can overflow a long.
        foreach (var v in options.Versions)
        {
            if (v.FreeAllowance is < 1 or > 1_000_000_000)
            {
                yield return $"Version {v.Version}: FreeAllowance must be between 1 and 1,000,000,000.";
            }

            if (v.ProMultiplier is < 1 or > 1_000 || v.MaxMultiplier is < 1 or > 1_000 || v.UltraMultiplier is < 1 or > 1_000)
            {
                yield return $"Version {v.Version}: multipliers must be between 1 and 1,000.";
            }
        }
    }

    private static PlanCatalogVersion Build(PlanCatalogVersionOptions o)
    {
        // Each tier is derived from the one below, as the plan table states it (Max = 3× Pro, not 15× Free).
        var pro = Round(o.FreeAllowance * o.ProMultiplier);
        var max = Round(pro * o.MaxMultiplier);
        var ultra = Round(max * o.UltraMultiplier);
        return new PlanCatalogVersion(o.Version, o.EffectiveFrom, o.FreeAllowance, pro, max, ultra);
    }

    private static long Round(decimal value) => (long)decimal.Round(value, MidpointRounding.AwayFromZero);
}
