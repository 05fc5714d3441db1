namespace QuotaGrains.Client;

/// <summary>
/// What a generation server needs: reserve credits before a generation, then commit on success. A hold that is
/// disposed without commit (an exception, a cancellation, a forgotten commit) is refunded.
/// </summary>
/// <example>
/// <code>
/// await using var hold = await quota.ReserveAsync(userId, spaceId, new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd));
/// if (!hold.Succeeded) return Results.Problem(hold.Rejection!.Message);
/// var image = await generator.RunAsync(prompt, cancellationToken);
/// await hold.CommitAsync();
/// </code>
/// </example>
public partial interface IQuotaClient
{
    /// <summary>Holds the cost of <paramref name="count"/> generations in the user's Space, all or nothing.</summary>
    /// <param name="operationId">Names the hold; pass the same id when retrying a request of your own so that it is
    /// charged once. A new id is made when omitted.</param>
    /// <exception cref="QuotaUnavailableException">The outcome is unknown after every retry: do not generate.</exception>
    Task<QuotaHold> ReserveAsync(
        string userId,
        string spaceId,
        GenerationSpec spec,
        int count = 1,
        string? operationId = null,
        CancellationToken cancellationToken = default);

    /// <summary>Reserves, runs <paramref name="generate"/>, and commits when it returns or refunds when it throws.</summary>
    /// <returns>The generation's result, or the rejection when the reserve was refused (nothing ran).</returns>
    Task<QuotaRun<T>> RunAsync<T>(
        string userId,
        string spaceId,
        GenerationSpec spec,
        Func<CancellationToken, Task<T>> generate,
        string? operationId = null,
        CancellationToken cancellationToken = default);

    Task<CommandResult> CreateSpaceAsync(string spaceId, CreateSpaceRequest request, CancellationToken cancellationToken = default);

    Task<CommandResult> AddMemberAsync(string spaceId, AddMemberRequest request, CancellationToken cancellationToken = default);

    Task<CommandResult> RemoveMemberAsync(string spaceId, RemoveMemberRequest request, CancellationToken cancellationToken = default);

    Task<CommandResult> ChangePlanAsync(string spaceId, ChangePlanRequest request, CancellationToken cancellationToken = default);

    /// <summary>The Space's pool now, or <c>null</c> if there is no such Space.</summary>
    Task<SpaceBalance?> GetBalanceAsync(string spaceId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<CycleUsage>?> GetUsageAsync(string spaceId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<UserSpace>> GetUserSpacesAsync(string userId, CancellationToken cancellationToken = default);

    /// <summary>A page of the Space's ledger, e.g. one cycle (<c>From</c> = its start, <c>To</c> = its end); pass
    /// <see cref="LedgerPage.NextAfterSequence"/> as <c>AfterSequence</c> for the next page.</summary>
    Task<LedgerPage> GetLedgerAsync(string spaceId, LedgerQuery query, CancellationToken cancellationToken = default);
}

/// <summary>The outcome of <see cref="IQuotaClient.RunAsync{T}"/>. <see cref="Settlement"/> is the commit's
/// answer: it is refused (e.g. <see cref="RejectionCode.HoldExpired"/>) when the generation outlived its hold, in
/// which case nothing was charged.</summary>
public sealed record QuotaRun<T>(ReserveResult Reservation, T? Value, SettleResult? Settlement = null)
{
    public bool Succeeded => Reservation.Succeeded;

    public Rejection? Rejection => Reservation.Rejection;

    /// <summary>True when the generation ran and its credits were charged (or it was free).</summary>
    public bool Charged => Reservation.Succeeded && (Reservation.IsFree || Settlement?.Succeeded == true);
}
