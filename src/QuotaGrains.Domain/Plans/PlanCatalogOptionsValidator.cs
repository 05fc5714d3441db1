using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Domain.Plans;

/// <summary>Refuses a <c>Quota:PlanCatalog</c> that <see cref="PlanCatalog.Validate"/> finds wrong (the rules the
/// catalog itself enforces when it is built).</summary>
internal sealed class PlanCatalogOptionsValidator : IValidateOptions<PlanCatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, PlanCatalogOptions options) => OptionsProblems.Result("Quota:PlanCatalog", PlanCatalog.Validate(options));
}
