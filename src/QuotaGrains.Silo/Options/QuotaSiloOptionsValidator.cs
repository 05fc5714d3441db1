using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace QuotaGrains.Silo.Options;

/// <summary>Refuses <c>Quota:Silo</c> settings that <see cref="QuotaSiloOptions.Validate"/> finds wrong.</summary>
internal sealed class QuotaSiloOptionsValidator(IConfiguration configuration) : IValidateOptions<QuotaSiloOptions>
{
    public ValidateOptionsResult Validate(string? name, QuotaSiloOptions options)
    {
        var problems = options.Validate(configuration["Quota:Storage:ConnectionString"]).Select(p => $"Quota:Silo: {p}").ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
