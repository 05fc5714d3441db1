namespace QuotaGrains.UsagePage.Data;

// Public only because Razor components, the page's views, are public classes and these are their parameters.

/// <summary>The live part of a Space's page: its pool now and the current cycle's usage. Shaped like the engine's Space
/// summary, so that the page does not change when the data comes from one query.</summary>
public sealed record SpaceNow(
    string SpaceId,
    PlanTier Plan,
    PlanTier? PendingPlan,
    DateTimeOffset CycleStart,
    DateTimeOffset NextRenewal,
    long Allowance,
    long Used,
    long Held,
    long Available,
    long Generations,
    int OpenHolds,
    int Members,
    IReadOnlyList<UsageRow> ByMember,
    IReadOnlyList<UsageRow> ByFeature,
    IReadOnlyList<UsageRow> ByMedia,
    ExhaustionForecast Forecast,
    DateTimeOffset AsOf)
{
    /// <summary>Used ÷ allowance in whole percent, rounded down (100 only when all of it is used).</summary>
    public long PercentUsed => Allowance <= 0 ? 0 : Math.Min(100, Used * 100 / Allowance);
}

/// <summary>One row of a usage table: credits and generations, largest first.</summary>
public sealed record UsageRow(string Name, long Credits, long Generations);

/// <summary>One cycle for the history chart and the ledger filter.</summary>
public sealed record CycleRow(DateTimeOffset Start, DateTimeOffset End, long Allowance, long Credits, long Generations, bool Current);

/// <summary>Everything a Space's page shows.</summary>
public sealed record SpacePageModel(
    string Prefix,
    string Token,
    string UserId,
    DateTimeOffset LinkExpiresAt,
    SpaceNow Now,
    IReadOnlyList<CycleRow> Cycles,
    CycleRow? LedgerCycle,
    LedgerPage Ledger,
    int LedgerPageNumber,
    IReadOnlyList<NotificationView> Notifications,
    IReadOnlyList<WebhookDeliveryAttempt> Deliveries);

/// <summary>The operators' page: the engine's fleet view (fed by the Spaces' reports), and the silos with what they hold.</summary>
public sealed record FleetModel(
    FleetView View,
    IReadOnlyList<FleetSilo> Silos,
    long ActiveSpaces,
    long ActiveUsers,
    DateTimeOffset AsOf);

public sealed record FleetSilo(string Address, string Status, long ActiveSpaces);
