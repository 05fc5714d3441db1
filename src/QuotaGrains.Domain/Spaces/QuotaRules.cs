using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;

namespace QuotaGrains.Domain.Spaces;

/// <summary>Everything from configuration a Space decides with: prices, plans, and its own rules.</summary>
public sealed class QuotaRules(PriceBook prices, PlanCatalog plans, SpaceRulesOptions spaces)
{
    public static QuotaRules Default { get; } = new(PriceBook.Default, PlanCatalog.Default, new SpaceRulesOptions());

    public PriceBook Prices { get; } = prices;

    public PlanCatalog Plans { get; } = plans;

    public SpaceRulesOptions Spaces { get; } = spaces;
}
