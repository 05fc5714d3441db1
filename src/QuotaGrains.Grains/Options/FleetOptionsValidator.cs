using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Grains.Options;

/// <summary>Refuses <c>Quota:Fleet</c> settings that <see cref="FleetOptions.Validate"/> finds wrong.</summary>
internal sealed class FleetOptionsValidator : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options) => OptionsProblems.Result("Quota:Fleet", options.Validate());
}
