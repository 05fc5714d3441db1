using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Grains.Options;

/// <summary>Refuses <c>Quota:Renewals</c> settings that <see cref="RenewalOptions.Validate"/> finds wrong.</summary>
internal sealed class RenewalOptionsValidator : IValidateOptions<RenewalOptions>
{
    public ValidateOptionsResult Validate(string? name, RenewalOptions options) => OptionsProblems.Result("Quota:Renewals", options.Validate());
}
