using QuotaGrains.Domain.Renewal;

namespace QuotaGrains.Domain.Spaces;

/// <summary>Time: renewals and hold expiries due by an instant, applied in time order.</summary>
public sealed partial class SpacePool
{
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);

    /// <summary>Applies every renewal and hold expiry due by <paramref name="now"/>, in time order, one event each.</summary>
    public IReadOnlyList<SpaceEvent> AdvanceTo(DateTimeOffset now)
    {
        var events = new List<SpaceEvent>();
        AdvanceInto(now, events);
        return events;
    }

    /// <summary>The earliest instant at which <see cref="AdvanceTo"/> will have something to do.</summary>
    public DateTimeOffset? NextDueAt()
    {
        if (!State.Created)
        {
            return null;
        }

        var expiry = EarliestExpiry();
        return expiry is { } e && e < State.NextRenewal ? e : State.NextRenewal;
    }

    private void AdvanceInto(DateTimeOffset now, List<SpaceEvent> events)
    {
        if (!State.Created)
        {
            return;
        }

        while (true)
        {
            var expiry = EarliestExpiry();
            if (expiry is { } at && at <= now && at <= State.NextRenewal)
            {
                var hold = State.Holds.Values.First(h => h.ExpiresAt == at);
                Emit(new HoldExpired(Next(1), Max(at, State.LastEventAt), hold.HoldId, hold.Pending, hold.PendingCredits), events);
            }
            else if (State.NextRenewal <= now)
            {
                // Open holds carry over into the new cycle. Those that do not fit its allowance (after a downgrade)
                // expire at the renewal instant, newest first, so that used + held never exceeds the allowance.
                var renewalAt = State.NextRenewal;
                var (_, _, _, allowance) = NextCycleTerms(renewalAt);
                foreach (var hold in State.Holds.Values.OrderByDescending(h => h.ReservedAt).ThenBy(h => h.HoldId, StringComparer.Ordinal).ToList())
                {
                    if (State.Held <= allowance)
                    {
                        break;
                    }

                    Emit(new HoldExpired(Next(1), Max(renewalAt, State.LastEventAt), hold.HoldId, hold.Pending, hold.PendingCredits), events);
                }

                Emit(DecideRenewal(renewalAt), events);
            }
            else
            {
                break;
            }
        }

        Prune(now);
    }

    private CycleRenewed DecideRenewal(DateTimeOffset at)
    {
        var (plan, custom, version, allowance) = NextCycleTerms(at);

        // Free Spaces renew monthly from their creation instant, also once a paid plan was cancelled (ours).
        var (cadence, anchor) = plan == PlanTier.Free && State.CreatedAt != default
            ? (BillingCadence.Monthly, State.CreatedAt)
            : (State.Cadence, State.Anchor);
        return new CycleRenewed(
            Next(1), at, plan, custom, version, allowance, RenewalSchedule.NextAfter(anchor, cadence, at), State.Held, cadence, anchor);
    }

    /// <summary>The plan (a pending change applied) and catalog version in effect at the renewal instant.</summary>
    private (PlanTier Plan, long? Custom, int Version, long Allowance) NextCycleTerms(DateTimeOffset at)
    {
        var plan = State.PendingPlan ?? State.Plan;
        var custom = State.PendingPlan is null ? State.CustomAllowance : State.PendingCustomAllowance;
        var version = _rules.Plans.VersionAt(at);
        return (plan, custom, version.Version, version.AllowanceOf(plan, custom));
    }

    private DateTimeOffset? EarliestExpiry()
    {
        if (!_earliestExpiryKnown)
        {
            _earliestExpiry = null;
            foreach (var hold in State.Holds.Values)
            {
                if (_earliestExpiry is null || hold.ExpiresAt < _earliestExpiry)
                {
                    _earliestExpiry = hold.ExpiresAt;
                }
            }

            _earliestExpiryKnown = true;
        }

        return _earliestExpiry;
    }

    /// <summary>A hold expiring at <paramref name="expiresAt"/> opened: if the earliest expiry is known, it may now be this.</summary>
    private void HoldOpened(DateTimeOffset expiresAt)
    {
        if (_earliestExpiryKnown && (_earliestExpiry is null || expiresAt < _earliestExpiry))
        {
            _earliestExpiry = expiresAt;
        }
    }

    /// <summary>A hold expiring at <paramref name="expiresAt"/> closed: if it had the earliest expiry, that is found again
    /// when next asked.</summary>
    private void HoldClosed(DateTimeOffset expiresAt)
    {
        if (_earliestExpiry == expiresAt)
        {
            _earliestExpiryKnown = false;
        }
    }

    /// <summary>Forgets operation ids and closed holds older than the retention window (once a minute at most; the
    /// count bound holds at every record).</summary>
    private void Prune(DateTimeOffset now)
    {
        if (now - State.LastPrunedAt < PruneInterval)
        {
            return;
        }

        _memory.Prune(now);
        State.LastPrunedAt = now;
    }
}
