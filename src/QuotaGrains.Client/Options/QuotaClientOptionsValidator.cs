using Microsoft.Extensions.Options;

namespace QuotaGrains.Client.Options;

/// <summary>Refuses <c>Quota:Client</c> settings that <see cref="QuotaClientOptions.Validate"/> finds wrong, each as
/// <c>Quota:Client: problem</c> like the engine's own options.</summary>
internal sealed class QuotaClientOptionsValidator : IValidateOptions<QuotaClientOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaClientOptions options)
    {
        var problems = options.Validate().Select(p => $"Quota:Client: {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
