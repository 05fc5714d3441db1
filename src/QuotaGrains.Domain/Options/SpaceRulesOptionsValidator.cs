using Microsoft.Extensions.Options;

namespace QuotaGrains.Domain.Options;

/// <summary>Refuses <c>Quota:Spaces</c> settings that <see cref="SpaceRulesOptions.Validate"/> finds wrong.</summary>
internal sealed class SpaceRulesOptionsValidator : IValidateOptions<SpaceRulesOptions>
{
    public ValidateOptionsResult Validate(string? name, SpaceRulesOptions options) => OptionsProblems.Result("Quota:Spaces", options.Validate());
}
