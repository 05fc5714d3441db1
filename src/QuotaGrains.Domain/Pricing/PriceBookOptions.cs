namespace QuotaGrains.Domain.Pricing;

/// <summary>The price book as configured (section <c>Quota:PriceBook</c>). Empty sections take the defaults.</summary>
public sealed class PriceBookOptions
{
    /// <summary>Feature name (case-insensitive) → its price.</summary>
    public Dictionary<string, FeaturePriceOptions> Features { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Resolution tier → the multiplier applied to a feature's base price.</summary>
    public Dictionary<ResolutionTier, int> ResolutionMultipliers { get; set; } = [];

    /// <summary>The defaults of DOMAIN.md: simple features 1, complex ones and Recolor 4, video 20;
    /// standard ×1, HD ×2, 4K ×4; white backgrounds, templates and background removal free.</summary>
    public static PriceBookOptions CreateDefault() => new()
    {
        Features = new(StringComparer.OrdinalIgnoreCase)
        {
            ["ai-shadows"] = new() { Image = 1 },
            ["ai-backgrounds"] = new() { Image = 1 },
            ["virtual-model"] = new() { Image = 4, Video = 20 },
            ["ghost-mannequin"] = new() { Image = 4 },
            ["edit-with-ai"] = new() { Image = 4, Video = 20 },
            ["recolor"] = new() { Image = 4 },
            ["ai-video"] = new() { Video = 20 },
            ["white-background"] = new() { Free = true },
            ["template"] = new() { Free = true },
            ["background-removal"] = new() { Free = true },
        },
        ResolutionMultipliers = new()
        {
            [ResolutionTier.Standard] = 1,
            [ResolutionTier.Hd] = 2,
            [ResolutionTier.FourK] = 4,
        },
    };
}

/// <summary>The price of one feature: credits per image and per video at standard resolution, or free.</summary>
public sealed class FeaturePriceOptions
{
    /// <summary>A free operation costs nothing and is not a generation.</summary>
    public bool Free { get; set; }

    /// <summary>Credits for one image at standard resolution; <c>null</c> when the feature makes no images.</summary>
    public int? Image { get; set; }

    /// <summary>Credits for one video at standard resolution; <c>null</c> when the feature makes no videos.</summary>
    public int? Video { get; set; }
}
