using QuotaGrains.Domain.Renewal;

namespace QuotaGrains.Domain.Spaces;

/// <summary>The only state transition: an event applied to the state.</summary>
public sealed partial class SpacePool
{
    private const int MaxNotificationsKept = 100;

    public void Apply(SpaceEvent e)
    {
        if (e.Sequence != State.Sequence + 1)
        {
            throw new InvalidOperationException($"Space '{SpaceId}': event {e.Sequence} does not follow {State.Sequence}.");
        }

        switch (e)
        {
            case SpaceCreated c:
                State.Created = true;
                State.OwnerUserId = c.OwnerUserId;
                State.Members[c.OwnerUserId] = SpaceRole.Owner;
                State.Plan = c.Plan;
                State.CustomAllowance = c.CustomAllowance;
                State.Cadence = c.Cadence;
                State.Anchor = c.Anchor;
                State.CreatedAt = RenewalSchedule.Normalize(c.At);
                State.CatalogVersion = c.CatalogVersion;
                State.Allowance = c.Allowance;
                State.CycleStart = c.CycleStart;
                State.NextRenewal = c.NextRenewal;
                _memory.Record(c, CommandResult.Ok);
                break;

            case MemberAdded m:
                State.Members[m.UserId] = m.Role;
                _memory.Record(m, CommandResult.Ok);
                break;

            case MemberRemoved m:
                State.Members.Remove(m.UserId);
                _memory.Record(m, CommandResult.Ok);
                break;

            case PlanUpgraded p:
                State.Plan = p.Plan;
                State.CustomAllowance = p.CustomAllowance;
                State.Allowance = p.Allowance;
                State.PendingPlan = null;
                State.PendingCustomAllowance = null;
                _memory.Record(p, CommandResult.Ok);
                break;

            case PlanChangeScheduled p:
                State.PendingPlan = p.Plan;
                State.PendingCustomAllowance = p.CustomAllowance;
                _memory.Record(p, CommandResult.Ok);
                break;

            case CreditsReserved r:
                ApplyReserved(r);
                break;

            case HoldCommitted c:
                ApplySettled(c, c.HoldId, c.Items, HoldItemStatus.Committed);
                break;

            case HoldRefunded r:
                ApplySettled(r, r.HoldId, r.Items, HoldItemStatus.Refunded);
                break;

            case HoldExpired x:
                ApplyExpired(x);
                break;

            case CycleRenewed r:
                ApplyRenewed(r);
                break;

            case PoolsMigrated m:
                State.LegacyPools = null;
                State.Allowance = m.Allowance;
                State.Used = m.Used;
                break;

            case UsageThresholdCrossed t:
                State.CurrentUsage.ThresholdsCrossed.Add(t.Percent);
                State.Notifications.Add(new UsageNotification(SpaceId, State.CycleStart, t.Percent, t.Used, t.Allowance, t.At));
                if (State.Notifications.Count > MaxNotificationsKept)
                {
                    State.Notifications.RemoveAt(0);
                }

                break;

            case PoolExhausted:
                State.CurrentUsage.Exhausted = true;
                break;

            default:
                throw new InvalidOperationException($"Unknown event {e.GetType().Name}.");
        }

        Notify(e);

        State.Sequence = e.Sequence;
        State.LastEventAt = Max(State.LastEventAt, e.At);
    }

    private void ApplyReserved(CreditsReserved r)
    {
        var hold = new Hold
        {
            HoldId = r.OperationId,
            UserId = r.UserId,
            Spec = r.Spec,
            UnitCredits = r.UnitCredits,
            Items = new HoldItemStatus[r.Count],
            Pending = r.Count,
            ReservedAt = r.At,
            ExpiresAt = r.ExpiresAt,
        };
        State.Holds[hold.HoldId] = hold;
        State.Held += hold.PendingCredits;
        hold.AvailableAfterReserve = Available();
        HoldOpened(r.ExpiresAt);

        _memory.Record(r, new ReserveResult
        {
            HoldId = hold.HoldId,
            Items = r.Count,
            UnitCredits = r.UnitCredits,
            Credits = hold.PendingCredits,
            ExpiresAt = r.ExpiresAt,
            Available = Available(),
        });
    }

    private void ApplySettled(RequestEvent e, string holdId, int[]? items, HoldItemStatus status)
    {
        var hold = State.Holds[holdId];
        var settled = 0;
        if (items is null)
        {
            for (var i = 0; i < hold.Items.Length; i++)
            {
                if (hold.Items[i] == HoldItemStatus.Pending)
                {
                    hold.Items[i] = status;
                    settled++;
                }
            }
        }
        else
        {
            foreach (var i in items)
            {
                hold.Items[i] = status;
            }

            settled = items.Length;
        }

        var credits = settled * hold.UnitCredits;
        hold.Pending -= settled;
        State.Held -= credits;
        if (status == HoldItemStatus.Committed)
        {
            State.Used += credits;
            State.CurrentUsage.Add(hold.UserId, hold.Spec, credits, settled);
        }

        if (hold.Pending == 0)
        {
            CloseHold(hold, expired: false, e.At);
        }

        _memory.Record(e, new SettleResult
        {
            HoldId = holdId,
            CommittedCredits = status == HoldItemStatus.Committed ? credits : 0,
            RefundedCredits = status == HoldItemStatus.Refunded ? credits : 0,
            ItemsSettled = settled,
            ItemsPending = hold.Pending,
        });
    }

    private void ApplyExpired(HoldExpired x)
    {
        var hold = State.Holds[x.HoldId];
        for (var i = 0; i < hold.Items.Length; i++)
        {
            if (hold.Items[i] == HoldItemStatus.Pending)
            {
                hold.Items[i] = HoldItemStatus.Expired;
            }
        }

        State.Held -= hold.PendingCredits;
        hold.Pending = 0;
        CloseHold(hold, expired: true, x.At);
    }

    private void ApplyRenewed(CycleRenewed r)
    {
        State.History.Insert(0, State.CurrentUsage.ToView(State.CycleStart, r.At, State.Allowance));
        if (State.History.Count > _rules.Spaces.UsageHistoryCycles)
        {
            State.History.RemoveRange(_rules.Spaces.UsageHistoryCycles, State.History.Count - _rules.Spaces.UsageHistoryCycles);
        }

        State.Plan = r.Plan;
        State.CustomAllowance = r.CustomAllowance;
        State.PendingPlan = null;
        State.PendingCustomAllowance = null;
        State.CatalogVersion = r.CatalogVersion;
        State.Allowance = r.Allowance;
        State.Used = 0;
        State.CycleStart = r.At;
        State.NextRenewal = r.NextRenewal;
        State.Cadence = r.Cadence;
        State.Anchor = r.Anchor;
        State.CurrentUsage = new UsageLedger();
    }

    private void CloseHold(Hold hold, bool expired, DateTimeOffset at)
    {
        State.Holds.Remove(hold.HoldId);
        _memory.RecordClosedHold(hold.HoldId, State.Sequence + 1, at, expired);
        HoldClosed(hold.ExpiresAt);
    }
}
