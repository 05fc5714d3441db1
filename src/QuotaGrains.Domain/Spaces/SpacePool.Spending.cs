namespace QuotaGrains.Domain.Spaces;

/// <summary>Spending: reserving credits into a hold, committing or refunding its items.</summary>
public sealed partial class SpacePool
{
    private Decision<ReserveResult> DecideReserve(string userId, ReserveRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<ReserveResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(userId, "UserId")) is { } bad)
        {
            return ReserveResult.Rejected(bad);
        }

        if (RequestChecks.Count(request.Count, _rules.Spaces.MaxBatchItems) is { } badCount)
        {
            return Invalid<ReserveResult>(badCount);
        }

        var price = _rules.Prices.Price(request.Spec);
        if (price.Rejection is { } unpriced)
        {
            return ReserveResult.Rejected(unpriced);
        }

        if (NotFound<ReserveResult>() is { } missing)
        {
            return missing;
        }

        var spec = request.Spec;
        var fingerprint = Fingerprint.Start("reserve").Add(userId).Add(spec.Feature.ToLowerInvariant()).Add((long)spec.Media)
            .Add((long)spec.Resolution).Add(request.Count).Value;
        if (Replay<ReserveResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (!State.Members.ContainsKey(userId))
        {
            return ReserveResult.Rejected(new Rejection(RejectionCode.NotAMember, $"User '{userId}' is not a member of Space '{SpaceId}'."));
        }

        if (State.Holds.TryGetValue(request.OperationId, out var open))
        {
            // The operation record may have been pruned from a busy Space's window; the open hold still answers.
            return open.UserId == userId && open.Spec.Feature.Equals(spec.Feature, StringComparison.OrdinalIgnoreCase)
                && open.Spec.Media == spec.Media && open.Spec.Resolution == spec.Resolution && open.Items.Length == request.Count
                ? new ReserveResult
                {
                    HoldId = open.HoldId, Items = open.Items.Length, UnitCredits = open.UnitCredits, Credits = open.UnitCredits * open.Items.Length,
                    ExpiresAt = open.ExpiresAt, Available = open.AvailableAfterReserve, Replayed = true,
                }
                : ReserveResult.Rejected(new Rejection(RejectionCode.OperationIdReused, $"Operation id '{request.OperationId}' was already used with other parameters."));
        }

        if (_memory.ClosedHolds.Contains(request.OperationId))
        {
            return Invalid<ReserveResult>($"Hold '{request.OperationId}' was already used.");
        }

        if (price.IsFree)
        {
            // Free operations use no credits and are not generations: nothing to hold, nothing recorded.
            return new ReserveResult { Items = request.Count, Available = Available() };
        }

        var required = price.UnitCredits * request.Count;
        var available = Available();
        if (required > available)
        {
            var refused = ReserveResult.Rejected(new Rejection(
                RejectionCode.InsufficientCredits,
                $"Space '{SpaceId}' has {available} credits available; this needs {required}.",
                available, required, State.NextRenewal));
            return State.CurrentUsage.Exhausted
                ? refused
                : new Decision<ReserveResult>([new PoolExhausted(Next(1), now, available, required, State.Used, State.Allowance)], refused);
        }

        return Decision<ReserveResult>.Of(new CreditsReserved(
            Next(1), now, request.OperationId, fingerprint, userId, spec, request.Count, price.UnitCredits, now + _rules.Spaces.HoldTimeToLive));
    }

    private Decision<SettleResult> DecideSettle(string userId, SettleRequest request, DateTimeOffset now, bool commit)
    {
        if (request is null)
        {
            return Invalid<SettleResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.HoldId, "HoldId") ?? CheckId(userId, "UserId")) is { } bad)
        {
            return SettleResult.Rejected(request.HoldId ?? "", bad);
        }

        if (request.Items is { } listed && CheckItemList(listed) is { } badItems)
        {
            return SettleResult.Rejected(request.HoldId, badItems);
        }

        if (NotFound<SettleResult>() is { } missing)
        {
            return missing with { HoldId = request.HoldId };
        }

        var fingerprint = Fingerprint.Start(commit ? "commit" : "refund").Add(userId).Add(request.HoldId).Add(request.Items).Value;
        if (Replay<SettleResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (!State.Holds.TryGetValue(request.HoldId, out var hold) || hold.UserId != userId)
        {
            // A closed hold is told apart from none while the Space remembers it (ClosedHolds, the operation id window).
            var closed = hold is null && _memory.ClosedHolds.TryGet(request.HoldId, out _, out _, out var expiredBefore) ? expiredBefore : (bool?)null;
            return SettleResult.Rejected(request.HoldId, closed switch
            {
                true => new Rejection(RejectionCode.HoldExpired, $"Hold '{request.HoldId}' expired; its credits went back to the pool."),
                false => new Rejection(RejectionCode.ItemAlreadySettled, $"Hold '{request.HoldId}' is already settled: every item was committed or refunded."),
                null => new Rejection(RejectionCode.HoldNotFound, $"No open hold '{request.HoldId}' of user '{userId}' in Space '{SpaceId}' (a hold closed longer ago than the Space remembers operations is not found either)."),
            });
        }

        int count;
        if (request.Items is null)
        {
            count = hold.Pending;
        }
        else
        {
            foreach (var index in request.Items)
            {
                if (index >= hold.Items.Length)
                {
                    return SettleResult.Rejected(request.HoldId, new Rejection(RejectionCode.InvalidRequest, $"Item {index} is out of range: hold '{request.HoldId}' has {hold.Items.Length} items."));
                }

                if (hold.Items[index] != HoldItemStatus.Pending)
                {
                    return SettleResult.Rejected(request.HoldId, new Rejection(RejectionCode.ItemAlreadySettled, $"Item {index} of hold '{request.HoldId}' is already {hold.Items[index].ToString().ToLowerInvariant()}."));
                }
            }

            count = request.Items.Count;
        }

        var items = request.Items?.ToArray();
        var credits = count * hold.UnitCredits;
        if (!commit)
        {
            return Decision<SettleResult>.Of(new HoldRefunded(Next(1), now, request.OperationId, fingerprint, request.HoldId, items, credits));
        }

        var events = new List<SpaceEvent> { new HoldCommitted(Next(1), now, request.OperationId, fingerprint, request.HoldId, items, credits) };
        var usedAfter = State.Used + credits;
        foreach (var percent in _rules.Spaces.UsageThresholds.Order())
        {
            if (!State.CurrentUsage.ThresholdsCrossed.Contains(percent) && Reached(usedAfter, percent, State.Allowance))
            {
                events.Add(new UsageThresholdCrossed(Next(events.Count + 1), now, percent, usedAfter, State.Allowance));
            }
        }

        return new Decision<SettleResult>(events, null);
    }

    private long Available() => Math.Max(0, State.Allowance - State.Used - State.Held);

    /// <summary>used ≥ percent % of allowance, exactly: both products in 128 bits (100 × an allowance of 10^18 does not
    /// fit a long; wrapped, a huge Space crossed every threshold with its first credit). Two multiplications.</summary>
    private static bool Reached(long used, int percent, long allowance) => Math.BigMul(used, 100L) >= Math.BigMul(allowance, (long)percent);
}
