namespace QuotaGrains.Domain.Spaces;

/// <summary>Notifications: each is born from one applied event (threshold crossed, pool exhausted, cycle renewed, plan
/// changed), with an id derived from the Space and the event's sequence, so a replay after a crash yields the same one.</summary>
public sealed partial class SpacePool
{
    /// <summary>How many notifications a Space keeps in its state (the outbox keeps their delivery state).</summary>
    public const int MaxRecentNotifications = 100;

    /// <summary>Notifications of events after <paramref name="sequence"/>, oldest first.</summary>
    public IReadOnlyList<SpaceNotification> NotificationsAfter(long sequence)
    {
        var recent = State.RecentNotifications;
        var first = recent.Count;
        while (first > 0 && recent[first - 1].Sequence > sequence)
        {
            first--;
        }

        return first == recent.Count ? [] : recent.GetRange(first, recent.Count - first);
    }

    /// <summary>Whether applying <paramref name="e"/> gives a notification (the kinds <see cref="Notify"/> turns into one): a
    /// journal stream's records that carry none need no Space woken for its notifications after a crash.</summary>
    public static bool GivesNotification(SpaceEvent e) =>
        e is UsageThresholdCrossed or PoolExhausted or CycleRenewed or PlanUpgraded or PlanChangeScheduled;

    /// <summary>After <paramref name="e"/> changed the state: the notification it gives, if any.</summary>
    private void Notify(SpaceEvent e)
    {
        if (!GivesNotification(e))
        {
            return;
        }

        var notification = e switch
        {
            UsageThresholdCrossed t => Notification(t, NotificationKind.ThresholdCrossed, t.Used, t.Allowance) with { Percent = t.Percent },
            PoolExhausted x => Notification(x, NotificationKind.PoolExhausted, x.Used, x.Allowance) with { Available = x.Available, Required = x.Required },
            CycleRenewed r => Notification(r, NotificationKind.CycleRenewed, 0, r.Allowance) with { Plan = r.Plan },
            PlanUpgraded p => Notification(p, NotificationKind.PlanChanged, State.Used, p.Allowance) with { Plan = p.Plan, EffectiveAt = p.At },
            PlanChangeScheduled p => Notification(p, NotificationKind.PlanChanged, State.Used, State.Allowance) with { Plan = p.Plan, EffectiveAt = p.EffectiveAt },
            _ => null,
        };
        if (notification is null)
        {
            return;
        }

        var recent = State.RecentNotifications;
        recent.Add(notification);
        if (recent.Count > MaxRecentNotifications)
        {
            recent.RemoveAt(0);
        }
    }

    private SpaceNotification Notification(SpaceEvent e, NotificationKind kind, long used, long allowance) => new(
        SpaceNotification.IdOf(SpaceId, e.Sequence), SpaceId, e.Sequence, kind, e.At, State.CycleStart, used, allowance,
        NextRenewal: State.NextRenewal);
}
