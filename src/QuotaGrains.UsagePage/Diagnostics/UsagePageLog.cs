using Microsoft.Extensions.Logging;

namespace QuotaGrains.UsagePage.Diagnostics;

/// <summary>The usage page's log messages (event ids 1–99 in this assembly).</summary>
internal static partial class UsagePageLog
{
    [LoggerMessage(1, LogLevel.Information, "Usage page link issued for Space '{SpaceId}', member '{UserId}', expires {ExpiresAt:O}.")]
    public static partial void LinkIssued(ILogger logger, string spaceId, string userId, DateTimeOffset expiresAt);

    // Why is not logged at Information: a stream of refused guesses must not flood the log; the page tells nobody why.
    [LoggerMessage(2, LogLevel.Debug, "Usage page refused a request for {Path}.")]
    public static partial void Refused(ILogger logger, string path);

    [LoggerMessage(3, LogLevel.Warning, "Usage page could not read the engine for {Path}; answered 503.")]
    public static partial void EngineUnavailable(ILogger logger, string path, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Usage page served at {Prefix} (fleet page {Fleet}).")]
    public static partial void Mapped(ILogger logger, string prefix, string fleet);
}
