using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Grains.Options;

/// <summary>Refuses <c>Quota:Storage</c> settings that <see cref="QuotaStorageOptions.Validate"/> finds wrong.</summary>
internal sealed class QuotaStorageOptionsValidator : IValidateOptions<QuotaStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaStorageOptions options) => OptionsProblems.Result("Quota:Storage", options.Validate());
}
