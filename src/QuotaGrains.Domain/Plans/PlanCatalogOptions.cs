namespace QuotaGrains.Domain.Plans;

/// <summary>The versioned plan catalog as configured (section <c>Quota:PlanCatalog</c>).</summary>
public sealed class PlanCatalogOptions
{
    public List<PlanCatalogVersionOptions> Versions { get; set; } = [];

    /// <summary>One version, in effect since the beginning of time: Free 100, Pro 5×, Max 3× Pro, Ultra 1.7× Max.</summary>
    public static PlanCatalogOptions CreateDefault() => new()
    {
        Versions = [new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = DateTimeOffset.MinValue }],
    };
}

/// <summary>One version of the catalog. A Space takes it from its first renewal at or after <see cref="EffectiveFrom"/>.</summary>
public sealed class PlanCatalogVersionOptions
{
    public int Version { get; set; }

    public DateTimeOffset EffectiveFrom { get; set; }

    /// <summary>The Free allowance B per renewal.</summary>
    public long FreeAllowance { get; set; } = 100;

    /// <summary>Pro = B × this.</summary>
    public decimal ProMultiplier { get; set; } = 5m;

    /// <summary>Max = Pro × this.</summary>
    public decimal MaxMultiplier { get; set; } = 3m;

    /// <summary>Ultra = Max × this.</summary>
    public decimal UltraMultiplier { get; set; } = 1.7m;
}
