using Orleans.Concurrency;

namespace QuotaGrains;

/// <summary>One Space (key: Space id): the single authority over its pool, members and holds.</summary>
[Alias("QuotaGrains.ISpaceGrain")]
public interface ISpaceGrain : IGrainWithStringKey
{
    [Alias("Create")]
    Task<CommandResult> CreateAsync(CreateSpaceRequest request);

    [Alias("AddMember")]
    Task<CommandResult> AddMemberAsync(AddMemberRequest request);

    [Alias("RemoveMember")]
    Task<CommandResult> RemoveMemberAsync(RemoveMemberRequest request);

    [Alias("ChangePlan")]
    Task<CommandResult> ChangePlanAsync(ChangePlanRequest request);

    /// <summary>Reserves credits for <paramref name="userId"/>, who must be a member.</summary>
    [Alias("Reserve")]
    Task<ReserveResult> ReserveAsync(string userId, ReserveRequest request);

    /// <summary>Charges items of a hold that <paramref name="userId"/> reserved, also if the user was removed from the
    /// Space since (the hold stays theirs to settle).</summary>
    [Alias("Commit")]
    Task<SettleResult> CommitAsync(string userId, SettleRequest request);

    /// <summary>Returns items of a hold that <paramref name="userId"/> reserved to the pool, also if the user was removed
    /// from the Space since.</summary>
    [Alias("Refund")]
    Task<SettleResult> RefundAsync(string userId, SettleRequest request);

    /// <summary>The pool at this instant (renewals and expiries due by now applied); <c>null</c> if no such Space.</summary>
    [Alias("GetBalance"), AlwaysInterleave]
    Task<SpaceBalance?> GetBalanceAsync();

    [Alias("GetMembers"), AlwaysInterleave]
    Task<IReadOnlyList<SpaceMember>> GetMembersAsync();

    /// <summary>The pool, the cycle's usage by member, feature and media kind, and the exhaustion forecast, as of now, in
    /// one read; <c>null</c> if no such Space.</summary>
    [Alias("GetSummary"), AlwaysInterleave]
    Task<SpaceSummary?> GetSummaryAsync();

    /// <summary>The current cycle first, then past cycles, newest first; <c>null</c> if no such Space.</summary>
    [Alias("GetUsage"), AlwaysInterleave]
    Task<IReadOnlyList<CycleUsage>?> GetUsageAsync();

    /// <summary>The Space's ledger: every event as an entry, by time range (e.g. a cycle), paged by sequence.</summary>
    [Alias("GetLedger"), AlwaysInterleave]
    Task<LedgerPage> GetLedgerAsync(LedgerQuery query);

    /// <summary>Usage threshold notifications of the current and recent cycles, oldest first.</summary>
    [Alias("GetNotifications"), AlwaysInterleave]
    Task<IReadOnlyList<UsageNotification>> GetNotificationsAsync();
}
