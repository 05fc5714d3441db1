using Orleans.Runtime;
using QuotaGrains.Client;

namespace QuotaGrains.UsagePage.Data;

/// <summary>Everything the page reads from the engine, in one place: today the balance, usage, ledger, members and
/// notifications queries; a Space summary or fleet query replaces a method here, not a page. Every read is a grain
/// query on the Space's durable copy (<c>[AlwaysInterleave]</c>), never a turn on its debit path.</summary>
internal sealed class UsagePageData(IQuotaClient quota, IGrainFactory grains)
{
    /// <summary>How many cycles the history chart shows.</summary>
    public const int HistoryCycles = 12;

    public async Task<bool> IsMemberAsync(string spaceId, string userId, CancellationToken cancellationToken)
    {
        var members = await grains.GetGrain<ISpaceGrain>(spaceId).GetMembersAsync().WaitAsync(cancellationToken);
        return members.Any(m => string.Equals(m.UserId, userId, StringComparison.Ordinal));
    }

    /// <summary>The balance alone: what the live stream polls, to re-read the rest only when it changed.</summary>
    public Task<SpaceBalance?> GetBalanceAsync(string spaceId, CancellationToken cancellationToken) =>
        quota.GetBalanceAsync(spaceId, cancellationToken);

    /// <summary>The pool, the current cycle's usage and the exhaustion forecast, read in one turn of the Space
    /// (<c>GetSummaryAsync</c>), or <c>null</c> if there is no such Space.</summary>
    public async Task<SpaceNow?> GetNowAsync(string spaceId, CancellationToken cancellationToken)
    {
        var summary = await quota.GetSummaryAsync(spaceId, cancellationToken);
        return summary is null
            ? null
            : new SpaceNow(
                summary.SpaceId,
                summary.Plan,
                summary.PendingPlan,
                summary.CycleStart,
                summary.NextRenewal,
                summary.Allowance,
                summary.Used,
                summary.Held,
                summary.Available,
                summary.Generations,
                summary.OpenHolds,
                summary.Members,
                Rows(summary.ByMember),
                Rows(summary.ByFeature),
                Rows(summary.ByMedia.ToDictionary(m => m.Key.ToString(), m => m.Value)),
                summary.Forecast,
                summary.AsOf);
    }

    /// <summary>The last <see cref="HistoryCycles"/> cycles, newest first (empty if there is no such Space).</summary>
    public async Task<IReadOnlyList<CycleRow>> GetCyclesAsync(string spaceId, DateTimeOffset currentCycleStart, CancellationToken cancellationToken)
    {
        var usage = await quota.GetUsageAsync(spaceId, cancellationToken);
        return usage is null
            ? []
            : usage.Take(HistoryCycles).Select(u => new CycleRow(u.CycleStart, u.CycleEnd, u.Allowance, u.Credits, u.Generations, u.CycleStart == currentCycleStart)).ToList();
    }

    public Task<LedgerPage> GetLedgerAsync(string spaceId, CycleRow? cycle, long afterSequence, int pageSize, CancellationToken cancellationToken) =>
        quota.GetLedgerAsync(spaceId, new LedgerQuery(cycle?.Start, cycle?.End, afterSequence, pageSize), cancellationToken);

    /// <summary>The Space's recent notifications, newest first, each with its delivery state per endpoint.</summary>
    public Task<IReadOnlyList<NotificationView>> GetNotificationsAsync(string spaceId, CancellationToken cancellationToken) =>
        quota.GetNotificationsAsync(spaceId, cancellationToken);

    /// <summary>The Space's latest webhook delivery attempts, newest first.</summary>
    public Task<IReadOnlyList<WebhookDeliveryAttempt>> GetDeliveriesAsync(string spaceId, int max, CancellationToken cancellationToken) =>
        quota.GetWebhookDeliveriesAsync(spaceId, max, cancellationToken);

    /// <summary>The engine's fleet view (one read of the fleet grain, fed by the Spaces' own reports), and the silos with
    /// the Spaces and users active on each (Orleans' management grain: one call per silo, no Space activated).</summary>
    public async Task<FleetModel> GetFleetAsync(int top, CancellationToken cancellationToken)
    {
        var view = await quota.GetFleetAsync(top, cancellationToken);
        var management = grains.GetGrain<IManagementGrain>(0);
        var hosts = await management.GetHosts(onlyActive: false).WaitAsync(cancellationToken);
        var statistics = await management.GetSimpleGrainStatistics().WaitAsync(cancellationToken);
        var spaces = statistics.Where(s => IsType(s.GrainType, "SpaceGrain")).ToList();
        var users = statistics.Where(s => IsType(s.GrainType, "UserGrain")).Sum(s => (long)s.ActivationCount);
        var silos = hosts.OrderBy(h => h.Key.ToString(), StringComparer.Ordinal)
            .Select(h => new FleetSilo(h.Key.ToString(), h.Value.ToString(), spaces.Where(s => s.SiloAddress.Equals(h.Key)).Sum(s => (long)s.ActivationCount)))
            .ToList();
        return new FleetModel(view, silos, spaces.Sum(s => (long)s.ActivationCount), users, DateTimeOffset.UtcNow);
    }

    private static bool IsType(string grainType, string name) =>
        grainType.Contains("." + name, StringComparison.Ordinal) && !grainType.Contains("Maintenance", StringComparison.Ordinal);

    private static IReadOnlyList<UsageRow> Rows(IReadOnlyDictionary<string, UsageTotals>? totals) =>
        totals is null
            ? []
            : totals.Select(t => new UsageRow(t.Key, t.Value.Credits, t.Value.Generations))
                .OrderByDescending(r => r.Credits).ThenBy(r => r.Name, StringComparer.Ordinal).ToList();
}
