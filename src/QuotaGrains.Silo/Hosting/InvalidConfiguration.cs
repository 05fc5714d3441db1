using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace QuotaGrains.Silo.Hosting;

/// <summary>Runs the engine host, and ends it readably when its configuration is refused: every failure of the options
/// validators on its own line on standard error, and the exit code <see cref="ExitCode"/>, instead of an unhandled
/// exception (a stack trace and an abort, exit code 134).</summary>
internal static class InvalidConfiguration
{
    /// <summary>78, EX_CONFIG of sysexits.h ("a configuration error"): a refused setting is not a crash (134) nor a
    /// generic failure (1), and restarting cannot fix it; a supervisor can tell so by the code (systemd:
    /// <c>RestartPreventExitStatus=78</c>) instead of restarting the silo in a loop.</summary>
    public const int ExitCode = 78;

    /// <summary>Runs <paramref name="host"/> until it stops: 0, or <see cref="ExitCode"/> if its options are invalid.</summary>
    public static async Task<int> RunQuotaEngineAsync(this IHost host)
    {
        try
        {
            ValidateAll(host);
            await host.RunAsync();
            return 0;
        }
        catch (Exception e) when (Failures(e) is { Count: > 0 } failures)
        {
            // Straight to stderr, not through logging: the host is gone, and its console logger writes stdout.
            var error = Console.Error;
            await error.WriteLineAsync("QuotaGrains did not start: its configuration is invalid.");
            foreach (var failure in failures)
            {
                await error.WriteLineAsync($"  {failure}");
            }

            await error.WriteLineAsync($"Settings come from appsettings.json beside the silo or from environment variables (e.g. Quota__Spaces__HoldTimeToLive=00:15:00). Exit code {ExitCode} (EX_CONFIG).");
            return ExitCode;
        }
    }

    /// <summary>Every options type registered with <c>ValidateOnStart</c>, before anything starts: the host alone would
    /// stop at the first one a service reads as it is resolved, and report that one only.</summary>
    private static void ValidateAll(IHost host)
    {
        try
        {
            host.Services.GetService<IStartupValidator>()?.Validate();
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>The validation failures <paramref name="e"/> carries (one options type, or several in an aggregate);
    /// null if it is anything else, which is not a configuration error and stays unhandled.</summary>
    private static List<string>? Failures(Exception e) => e switch
    {
        OptionsValidationException invalid => [.. invalid.Failures],
        AggregateException many when many.Flatten().InnerExceptions.All(i => i is OptionsValidationException) =>
            [.. many.Flatten().InnerExceptions.SelectMany(i => ((OptionsValidationException)i).Failures)],
        _ => null,
    };
}
