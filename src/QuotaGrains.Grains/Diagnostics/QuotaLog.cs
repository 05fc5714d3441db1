using Microsoft.Extensions.Logging;

namespace QuotaGrains.Grains.Diagnostics;

internal static partial class QuotaLog
{
    [LoggerMessage(1, LogLevel.Error, "Space {SpaceId}: writing state failed; {Requests} waiting request(s) fail closed and the Space reloads.")]
    public static partial void SpaceWriteFailed(ILogger logger, Exception exception, string spaceId, int requests);

    [LoggerMessage(2, LogLevel.Information, "Space {SpaceId}: cycle renewed at {At:O}, allowance {Allowance}.")]
    public static partial void CycleRenewed(ILogger logger, string spaceId, DateTimeOffset at, long allowance);

    [LoggerMessage(3, LogLevel.Information, "Space {SpaceId}: hold {HoldId} expired, {Credits} credits returned.")]
    public static partial void HoldExpired(ILogger logger, string spaceId, string holdId, long credits);

    [LoggerMessage(4, LogLevel.Information, "Space {SpaceId}: usage reached {Percent}% ({Used}/{Allowance}).")]
    public static partial void ThresholdCrossed(ILogger logger, string spaceId, int percent, long used, long allowance);

    [LoggerMessage(5, LogLevel.Warning, "User {UserId}: recording membership of Space {SpaceId} failed.")]
    public static partial void MembershipWriteFailed(ILogger logger, Exception exception, string userId, string spaceId);

    [LoggerMessage(6, LogLevel.Warning, "{What} '{Subject}' failed; the caller gets QuotaUnavailableException (outcome unknown).")]
    public static partial void CallFailed(ILogger logger, Exception exception, string what, string subject);

    [LoggerMessage(7, LogLevel.Warning, "Grain storage {Provider}: state {StateName} of {GrainId} could not be {Done}; the grain gets QuotaUnavailableException.")]
    public static partial void GrainStorageFailed(ILogger logger, Exception exception, string provider, string done, string stateName, GrainId grainId);

    [LoggerMessage(9, LogLevel.Warning, "Ledger of Space {SpaceId} could not be {Done}; the Space gets QuotaUnavailableException.")]
    public static partial void LedgerFailed(ILogger logger, Exception exception, string spaceId, string done);
}
