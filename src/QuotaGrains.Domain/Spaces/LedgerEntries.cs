namespace QuotaGrains.Domain.Spaces;

/// <summary>Every event is a ledger entry: one vocabulary, no second source of truth.</summary>
public static class LedgerEntries
{
    public static LedgerEntry From(SpaceEvent e) => e switch
    {
        SpaceCreated c => new(c.Sequence, c.At, "created", c.Allowance, c.OperationId, c.OwnerUserId, Detail: $"{c.Plan} {c.Cadence} anchored {c.Anchor:O}"),
        MemberAdded m => new(m.Sequence, m.At, "member-added", 0, m.OperationId, m.UserId, Detail: m.Role.ToString()),
        MemberRemoved m => new(m.Sequence, m.At, "member-removed", 0, m.OperationId, m.UserId),
        PlanUpgraded p => new(p.Sequence, p.At, "plan-upgraded", p.Allowance, p.OperationId, Detail: p.Plan.ToString()),
        PlanChangeScheduled p => new(p.Sequence, p.At, "plan-change-scheduled", 0, p.OperationId, Detail: $"{p.Plan} at {p.EffectiveAt:O}"),
        CreditsReserved r => new(r.Sequence, r.At, "reserved", r.UnitCredits * r.Count, r.OperationId, r.UserId, r.OperationId, r.Count, $"{r.Spec.Feature} {r.Spec.Media} {r.Spec.Resolution}"),
        HoldCommitted c => new(c.Sequence, c.At, "committed", c.Credits, c.OperationId, HoldId: c.HoldId, Items: c.Items?.Length ?? 0, Detail: c.Items is null ? "all pending items" : null),
        HoldRefunded r => new(r.Sequence, r.At, "refunded", r.Credits, r.OperationId, HoldId: r.HoldId, Items: r.Items?.Length ?? 0, Detail: r.Items is null ? "all pending items" : null),
        HoldExpired x => new(x.Sequence, x.At, "expired", x.Credits, HoldId: x.HoldId, Items: x.Items),
        CycleRenewed r => new(r.Sequence, r.At, "renewed", r.Allowance, Detail: $"{r.Plan}, catalog v{r.CatalogVersion}, {r.CarriedHeld} held carried over"),
        UsageThresholdCrossed t => new(t.Sequence, t.At, "threshold", t.Used, Detail: $"{t.Percent}% of {t.Allowance}"),
        PoolExhausted x => new(x.Sequence, x.At, "exhausted", 0, Detail: $"refused {x.Required} with {x.Available} available ({x.Used}/{x.Allowance} used)"),
        PoolsMigrated m => new(m.Sequence, m.At, "migrated", m.Allowance, Detail: $"image {m.ImageUsed}/{m.ImageAllowance} + video {m.VideoUsed}/{m.VideoAllowance}"),
        _ => new(e.Sequence, e.At, e.GetType().Name, 0),
    };
}
