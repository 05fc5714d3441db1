namespace QuotaGrains.Client;

/// <summary>
/// Credits held for a generation. Commit what succeeded; whatever is still pending when the hold is disposed is
/// refunded, so an exception or a cancellation between reserve and commit never charges. Not thread-safe: one
/// generation flow owns a hold.
/// </summary>
public sealed class QuotaHold : IAsyncDisposable
{
    private readonly QuotaClient _client;
    private int _settleCalls;
    private bool _disposed;

    internal QuotaHold(QuotaClient client, string userId, string spaceId, ReserveResult reservation)
    {
        _client = client;
        UserId = userId;
        SpaceId = spaceId;
        Reservation = reservation;
        ItemsPending = reservation.HoldId is null ? 0 : reservation.Items;
    }

    public string UserId { get; }

    public string SpaceId { get; }

    public ReserveResult Reservation { get; }

    /// <summary>True when the credits are held (or the operation is free): the generation may run.</summary>
    public bool Succeeded => Reservation.Succeeded;

    public Rejection? Rejection => Reservation.Rejection;

    public string? HoldId => Reservation.HoldId;

    public long Credits => Reservation.Credits;

    /// <summary>Items neither committed nor refunded yet, as far as this hold has heard.</summary>
    public int ItemsPending { get; private set; }

    /// <summary>Charges items that succeeded (all pending items when <paramref name="items"/> is null).</summary>
    /// <exception cref="QuotaUnavailableException">The outcome is unknown: call it again with the same items, which
    /// sends the same operation (same id), to learn the one outcome that holds.</exception>
    public Task<SettleResult> CommitAsync(IReadOnlyList<int>? items = null, CancellationToken cancellationToken = default) =>
        SettleAsync(commit: true, items, cancellationToken);

    /// <summary>Returns items whose generation failed (all pending items when <paramref name="items"/> is null).</summary>
    /// <exception cref="QuotaUnavailableException">The outcome is unknown: call it again with the same items.</exception>
    public Task<SettleResult> RefundAsync(IReadOnlyList<int>? items = null, CancellationToken cancellationToken = default) =>
        SettleAsync(commit: false, items, cancellationToken);

    /// <summary>Refunds every item still pending. Failures are logged, not thrown: an unsettled hold expires.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (ItemsPending > 0)
        {
            await _client.RefundOnDisposeAsync(this);
        }
    }

    internal async Task<SettleResult> SettleAsync(bool commit, IReadOnlyList<int>? items, CancellationToken cancellationToken)
    {
        if (!Succeeded)
        {
            throw new InvalidOperationException($"The reserve was refused ({Rejection}); there is nothing to {(commit ? "commit" : "refund")}.");
        }

        if (HoldId is null)
        {
            // A free operation holds nothing and is charged nothing.
            return new SettleResult();
        }

        // Derived, stable ids: a retry of this call is charged once; each call on the hold whose outcome is known is a
        // new operation. One that threw (outcome unknown) keeps its number, so calling again sends the same operation.
        var operationId = $"{HoldId}:{(commit ? 'c' : 'r')}{_settleCalls + 1}";
        var result = await _client.SettleAsync(this, commit, new SettleRequest(operationId, HoldId, items), cancellationToken);
        _settleCalls++;
        if (result.Succeeded)
        {
            ItemsPending = result.ItemsPending;
        }
        else if (result.Rejection?.Code is RejectionCode.HoldExpired or RejectionCode.HoldNotFound
            || (result.Rejection?.Code is RejectionCode.ItemAlreadySettled && items is null))
        {
            // Closed (settling every pending item found none): nothing is left to refund on dispose.
            ItemsPending = 0;
        }

        return result;
    }
}
