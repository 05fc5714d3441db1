using Microsoft.Extensions.Logging;

namespace QuotaGrains.Grains.Fleet;

/// <summary>The fleet view's log messages (event ids 1201–1299).</summary>
internal static partial class FleetLog
{
    [LoggerMessage(1201, LogLevel.Warning, "Fleet view: reporting {Spaces} Space(s) failed; they leave with the next report.")]
    public static partial void ReportFailed(ILogger logger, Exception exception, int spaces);

    [LoggerMessage(1202, LogLevel.Warning, "Fleet view: writing its snapshot failed; the next interval retries.")]
    public static partial void SnapshotFailed(ILogger logger, Exception exception);
}
