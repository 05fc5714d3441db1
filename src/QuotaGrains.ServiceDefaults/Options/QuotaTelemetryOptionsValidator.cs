using Microsoft.Extensions.Options;

namespace QuotaGrains.ServiceDefaults.Options;

/// <summary>Refuses <c>Quota:Telemetry</c> settings that <see cref="QuotaTelemetryOptions.Validate"/> finds wrong.</summary>
internal sealed class QuotaTelemetryOptionsValidator : IValidateOptions<QuotaTelemetryOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaTelemetryOptions options)
    {
        var problems = options.Validate().Select(p => $"{QuotaTelemetryOptions.SectionName}: {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
