using Microsoft.Extensions.Options;

namespace QuotaGrains.Domain.Options;

/// <summary>How every options validator reports: one failure per problem, prefixed with the configuration section, so
/// that a refused start names the setting as it is written (<c>Quota:Spaces: HoldTimeToLive must be positive.</c>).</summary>
internal static class OptionsProblems
{
    public static ValidateOptionsResult Result(string section, IEnumerable<string> problems)
    {
        var list = problems.Select(p => $"{section}: {p}").ToList();
        return list.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(list);
    }
}
