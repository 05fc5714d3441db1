using Microsoft.Extensions.Logging;

namespace QuotaGrains.Grains.Diagnostics;

internal static partial class RenewalLog
{
    [LoggerMessage(101, LogLevel.Information, "Renewal clock: catching up {Minutes} minute(s) from {From:O}.")]
    public static partial void CatchingUp(ILogger logger, long minutes, DateTimeOffset from);

    [LoggerMessage(102, LogLevel.Warning, "Renewal clock: waking the Spaces due in minute {Minute:O} failed; the next tick retries it.")]
    public static partial void MinuteFailed(ILogger logger, Exception exception, DateTimeOffset minute);

    [LoggerMessage(103, LogLevel.Warning, "Renewal clock: registering its reminder failed; the next activation or tick retries.")]
    public static partial void ReminderFailed(ILogger logger, Exception exception);

    [LoggerMessage(104, LogLevel.Warning, "Renewal clock: saving its progress failed; it is retried with the next change.")]
    public static partial void SaveFailed(ILogger logger, Exception exception);

    [LoggerMessage(105, LogLevel.Error, "Renewal clock: the index has {Stored} shard(s) per slot in storage but {Configured} are configured; every slot is woken until the directory is rebuilt.")]
    public static partial void ShardsChanged(ILogger logger, int stored, int configured);

    [LoggerMessage(106, LogLevel.Information, "Renewal index: Space {SpaceId} moved from slot {From} to {To}.")]
    public static partial void SpaceMoved(ILogger logger, string spaceId, string from, string to);

    [LoggerMessage(107, LogLevel.Warning, "Renewal index: waking Space {SpaceId} for {Due:O} failed (attempt {Attempt}).")]
    public static partial void WakeFailed(ILogger logger, Exception exception, string spaceId, DateTimeOffset due, int attempt);

    [LoggerMessage(108, LogLevel.Warning, "Renewal index {Key}: writing the index failed; the next registration retries.")]
    public static partial void IndexWriteFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(109, LogLevel.Warning, "Renewal clock: starting the clock at silo start failed; its reminder or the next registration starts it.")]
    public static partial void StartFailed(ILogger logger, Exception exception);
}
