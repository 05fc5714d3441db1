using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;

namespace QuotaGrains.Grains.Options;

internal sealed class SpaceRulesOptionsValidator : IValidateOptions<SpaceRulesOptions>
{
    public ValidateOptionsResult Validate(string? name, SpaceRulesOptions options) => Result(options.Validate(), "Quota:Spaces");

    internal static ValidateOptionsResult Result(IEnumerable<string> problems, string section)
    {
        var list = problems.Select(p => $"{section}: {p}").ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }
}

internal sealed class PriceBookOptionsValidator : IValidateOptions<PriceBookOptions>
{
    public ValidateOptionsResult Validate(string? name, PriceBookOptions options) =>
        SpaceRulesOptionsValidator.Result(PriceBook.Validate(options), "Quota:PriceBook");
}

internal sealed class PlanCatalogOptionsValidator : IValidateOptions<PlanCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, PlanCatalogOptions options) =>
        SpaceRulesOptionsValidator.Result(PlanCatalog.Validate(options), "Quota:PlanCatalog");
}

internal sealed class QuotaStorageOptionsValidator : IValidateOptions<QuotaStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaStorageOptions options)
    {
        var problems = new List<string>();
        if (!options.IsAzure && !string.Equals(options.Kind, QuotaStorageOptions.Memory, StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"Kind '{options.Kind}' is not supported; use '{QuotaStorageOptions.Memory}' or '{QuotaStorageOptions.Azure}'.");
        }

        if (options.IsAzure && string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            problems.Add("Kind 'azure' needs a ConnectionString.");
        }

        if (options.OperationTimeout <= TimeSpan.Zero)
        {
            problems.Add("OperationTimeout must be positive.");
        }

        if (string.IsNullOrWhiteSpace(options.ProviderName))
        {
            problems.Add("ProviderName is empty.");
        }

        return SpaceRulesOptionsValidator.Result(problems, "Quota:Storage");
    }
}

internal sealed class JournalOptionsValidator : IValidateOptions<JournalOptions>
{
    public ValidateOptionsResult Validate(string? name, JournalOptions options) =>
        SpaceRulesOptionsValidator.Result(options.Validate(), "Quota:Journal");
}
