using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Domain.Pricing;

/// <summary>Refuses a <c>Quota:PriceBook</c> that <see cref="PriceBook.Validate"/> finds wrong (the rules the price book
/// itself enforces when it is built).</summary>
internal sealed class PriceBookOptionsValidator : IValidateOptions<PriceBookOptions>
{
    public ValidateOptionsResult Validate(string? name, PriceBookOptions options) => OptionsProblems.Result("Quota:PriceBook", PriceBook.Validate(options));
}
