using Orleans.Concurrency;

namespace QuotaGrains;

/// <summary>One user (key: user id). Knows the user's Spaces and roles and routes spending to the Space grain;
/// it never holds credits. A user who is not a member is refused here, without touching the Space; a removed member's
/// commits and refunds still reach it, since a hold opened before the removal stays the user's to settle.</summary>
[Alias("QuotaGrains.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    [Alias("Reserve")]
    Task<ReserveResult> ReserveAsync(string spaceId, ReserveRequest request);

    [Alias("Commit")]
    Task<SettleResult> CommitAsync(string spaceId, SettleRequest request);

    [Alias("Refund")]
    Task<SettleResult> RefundAsync(string spaceId, SettleRequest request);

    [Alias("GetSpaces"), AlwaysInterleave]
    Task<IReadOnlyList<UserSpace>> GetSpacesAsync();

    /// <summary>Called by a Space after a membership change. <paramref name="spaceVersion"/> is the Space's
    /// sequence number, so a late, older notice never overwrites a newer one. A <c>null</c> role removes.</summary>
    [Alias("RecordMembership")]
    Task RecordMembershipAsync(string spaceId, SpaceRole? role, long spaceVersion);
}
