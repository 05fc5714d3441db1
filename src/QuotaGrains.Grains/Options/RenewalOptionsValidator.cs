using Microsoft.Extensions.Options;

namespace QuotaGrains.Grains.Options;

internal sealed class RenewalOptionsValidator : IValidateOptions<RenewalOptions>
{
    public ValidateOptionsResult Validate(string? name, RenewalOptions options) =>
        SpaceRulesOptionsValidator.Result(options.Validate(), "Quota:Renewals");
}
