using System.Collections.Frozen;

namespace QuotaGrains.Domain.Pricing;

/// <summary>The price of one generation, or why there is none.</summary>
public readonly record struct PriceQuote(long UnitCredits, bool IsFree, Rejection? Rejection)
{
    public bool Succeeded => Rejection is null;
}

/// <summary>Prices generations: feature × media kind × resolution tier → credits. Immutable once built.</summary>
public sealed class PriceBook
{
    /// <summary>No single generation may cost more than this; keeps batch totals far from overflow.</summary>
    public const long MaxUnitCredits = 1_000_000;

    private readonly FrozenDictionary<string, FeaturePriceOptions> _features;
    private readonly FrozenDictionary<ResolutionTier, int> _multipliers;

    public PriceBook(PriceBookOptions options)
    {
        var problems = Validate(options).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid price book: " + string.Join(" ", problems), nameof(options));
        }

        _features = options.Features.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _multipliers = options.ResolutionMultipliers.ToFrozenDictionary();
    }

    public static PriceBook Default { get; } = new(PriceBookOptions.CreateDefault());

    public IEnumerable<string> Features => _features.Keys;

    public PriceQuote Price(GenerationSpec spec)
    {
        if (spec is null || string.IsNullOrWhiteSpace(spec.Feature))
        {
            return Reject(RejectionCode.InvalidRequest, "A generation must name a feature.");
        }

        if (!_features.TryGetValue(spec.Feature, out var feature))
        {
            return Reject(RejectionCode.UnknownFeature, $"The price book has no feature '{Truncate(spec.Feature)}'.");
        }

        if (!Enum.IsDefined(spec.Media))
        {
            return Reject(RejectionCode.InvalidRequest, $"Unknown media kind {(int)spec.Media}.");
        }

        if (!_multipliers.TryGetValue(spec.Resolution, out var multiplier))
        {
            return Reject(RejectionCode.UnknownResolution, $"The price book has no resolution tier {spec.Resolution}.");
        }

        if (feature.Free)
        {
            return new PriceQuote(0, IsFree: true, null);
        }

        var basePrice = spec.Media == MediaKind.Video ? feature.Video : feature.Image;
        if (basePrice is null)
        {
            return Reject(RejectionCode.UnknownFeature, $"Feature '{spec.Feature}' has no {spec.Media.ToString().ToLowerInvariant()} price.");
        }

        return new PriceQuote((long)basePrice.Value * multiplier, IsFree: false, null);
    }

    public static IEnumerable<string> Validate(PriceBookOptions options)
    {
        if (options.Features.Count == 0)
        {
            yield return "It names no feature.";
        }

        foreach (var (name, price) in options.Features)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                yield return "A feature has an empty name.";
            }

            if (price.Free && (price.Image is not null || price.Video is not null))
            {
                yield return $"Feature '{name}' is free and also has a price.";
            }

            if (!price.Free && price.Image is null && price.Video is null)
            {
                yield return $"Feature '{name}' is neither free nor priced.";
            }

            if (price.Image is < 1 or > (int)MaxUnitCredits || price.Video is < 1 or > (int)MaxUnitCredits)
            {
                yield return $"Feature '{name}' has a price outside 1..{MaxUnitCredits}.";
            }
        }

        foreach (var tier in Enum.GetValues<ResolutionTier>())
        {
            if (!options.ResolutionMultipliers.TryGetValue(tier, out var multiplier))
            {
                yield return $"Resolution tier {tier} has no multiplier.";
            }
            else if (multiplier is < 1 or > 1_000)
            {
                yield return $"Resolution tier {tier} has a multiplier outside 1..1000.";
            }
        }

        var maxBase = options.Features.Values.SelectMany(f => new[] { f.Image ?? 0, f.Video ?? 0 }).DefaultIfEmpty(0).Max();
        var maxMultiplier = options.ResolutionMultipliers.Values.DefaultIfEmpty(1).Max();
        if ((long)maxBase * maxMultiplier > MaxUnitCredits)
        {
            yield return $"A generation could cost more than {MaxUnitCredits} credits.";
        }
    }

    private static PriceQuote Reject(RejectionCode code, string message) => new(0, false, new Rejection(code, message));

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
