using Microsoft.Extensions.Logging;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>The harness's hosts log errors only, to the console, and nothing while they shut down.</summary>
public static class LogGate
{
    private static volatile bool _quiet;

    public static bool Quiet
    {
        get => _quiet;
        set => _quiet = value;
    }

    public static void Configure(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.SetMinimumLevel(LogLevel.Error);
        logging.AddFilter((_, _, level) => !_quiet && level >= LogLevel.Error);
    }
}
