using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Grains.Options;

/// <summary>Refuses <c>Quota:Journal</c> settings that <see cref="JournalOptions.Validate"/> finds wrong.</summary>
internal sealed class JournalOptionsValidator : IValidateOptions<JournalOptions>
{
    public ValidateOptionsResult Validate(string? name, JournalOptions options) => OptionsProblems.Result("Quota:Journal", options.Validate());
}
