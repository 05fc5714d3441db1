using QuotaGrains.Domain.Usage;

namespace QuotaGrains.Domain.Spaces;

/// <summary>The summary a usage page reads: one copy of the cycle's figures and the exhaustion forecast.</summary>
public sealed partial class SpacePool
{
    /// <summary>The pool as it stands, with the cycle's usage and forecast as of <paramref name="asOf"/> (call
    /// <see cref="AdvanceTo"/> first); <c>null</c> if the Space was never created.</summary>
    public SpaceSummary? Summary(DateTimeOffset asOf)
    {
        if (!State.Created)
        {
            return null;
        }

        var usage = State.CurrentUsage;
        var available = Math.Max(0, State.Allowance - State.Used - State.Held);
        return new SpaceSummary(
            SpaceId,
            State.Plan,
            State.PendingPlan,
            State.Cadence,
            State.CycleStart,
            State.NextRenewal,
            State.Allowance,
            State.Used,
            State.Held,
            available,
            State.Allowance > 0 ? State.Used * 100.0 / State.Allowance : 0,
            usage.Generations,
            State.Holds.Count,
            State.Members.Count,
            new Dictionary<string, UsageTotals>(usage.ByMember, StringComparer.Ordinal),
            new Dictionary<string, UsageTotals>(usage.ByFeature, StringComparer.OrdinalIgnoreCase),
            new Dictionary<MediaKind, UsageTotals>(usage.ByMedia),
            usage.ThresholdsCrossed.ToArray(),
            State.CatalogVersion,
            ExhaustionForecaster.Forecast(
                State.Allowance, State.Used, State.Held, State.CycleStart, State.NextRenewal, asOf, _rules.Spaces.ForecastMinimumElapsed),
            asOf);
    }
}
