using Microsoft.Extensions.Options;

namespace QuotaGrains.UsagePage.Options;

/// <summary>Refuses <c>Quota:UsagePage</c> settings that <see cref="UsagePageOptions.Validate"/> finds wrong.</summary>
internal sealed class UsagePageOptionsValidator : IValidateOptions<UsagePageOptions>
{
    public ValidateOptionsResult Validate(string? name, UsagePageOptions options)
    {
        var problems = options.Validate().Select(p => $"{UsagePageOptions.SectionName}: {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
