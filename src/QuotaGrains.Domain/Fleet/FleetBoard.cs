using System.Runtime.InteropServices;
using QuotaGrains.Domain.Usage;

namespace QuotaGrains.Domain.Fleet;

/// <summary>
/// What the fleet view knows: each Space's latest reported figures and the credits it committed in the last hour, by
/// minute. A plain class (the fleet grain holds one), so that ordering and the window's edges are tested without a
/// cluster. The last hour is the current UTC minute and the 59 before it: at 12:30:20 it counts commits from 11:31:00 on.
/// </summary>
public sealed class FleetBoard
{
    /// <summary>Minutes in the "last hour" window.</summary>
    public const int WindowMinutes = 60;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Spaces known.</summary>
    public int Count => _entries.Count;

    /// <summary>Takes a report: its figures unless newer ones are known, its spending always (each commit is
    /// reported once, by the silo that acknowledged it), minus what is already out of the window at <paramref name="now"/>.</summary>
    public void Apply(FleetReport report, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(report);
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, report.SpaceId, out var known);
        if (!known)
        {
            entry = new Entry(report);
        }
        else if (report.Sequence >= entry!.Figures.Sequence)
        {
            entry.Figures = report;
        }

        var oldest = OldestMinute(now);
        foreach (var spend in report.Spent)
        {
            if (spend.Minute >= oldest && spend.Credits > 0)
            {
                entry!.Add(spend);
            }
        }

        entry!.Prune(oldest);
    }

    /// <summary>The view at <paramref name="now"/>, at most <paramref name="top"/> Spaces per list.</summary>
    public FleetView View(DateTimeOffset now, int top, TimeSpan forecastMinimumElapsed, TimeSpan reportInterval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        var oldest = OldestMinute(now);

        // Figures of a cycle that has ended say nothing about the pool now: the Space renewed (and reports it soon).
        var closest = _entries.Values
            .Select(e => e.Figures)
            .Where(f => f.NextRenewal > now && f.Allowance > 0)
            .Select(f => (Figures: f, Forecast: Forecast(f, now, forecastMinimumElapsed)))
            .Order(ExhaustionOrder.Instance)
            .Take(top)
            .Select(x => Space(x.Figures, x.Forecast))
            .ToList();

        var spenders = _entries.Values
            .Select(e => (e.Figures, Credits: e.SpentSince(oldest)))
            .Where(x => x.Credits > 0)
            .OrderByDescending(x => x.Credits)
            .ThenBy(x => x.Figures.SpaceId, StringComparer.Ordinal)
            .Take(top)
            .Select(x => new FleetSpender(x.Figures.SpaceId, x.Figures.Plan, x.Credits))
            .ToList();

        var byPlan = _entries.Values
            .Select(e => e.Figures)
            .GroupBy(f => f.Plan)
            .OrderBy(g => g.Key)
            .Select(g => new PlanTotals(
                g.Key,
                g.Count(),
                g.Sum(f => f.Allowance),
                g.Sum(f => f.NextRenewal > now ? f.Used : 0),
                g.Sum(f => f.Held)))
            .ToList();

        return new FleetView(now, _entries.Count, closest, spenders, byPlan, reportInterval);
    }

    /// <summary>What a snapshot keeps: the Spaces closest to exhaustion first, each with its spending still in the window,
    /// at most <paramref name="max"/> of them and as many as fit in about <paramref name="maxBytes"/> serialized (a Space
    /// is counted as <see cref="EstimatedBytes"/>, which is more than Orleans' binary format takes).</summary>
    public List<FleetReport> Snapshot(DateTimeOffset now, int max, int maxBytes)
    {
        var oldest = OldestMinute(now);
        var kept = new List<FleetReport>();
        long bytes = 0;
        foreach (var entry in _entries.Values.OrderBy(e => (e.Figures, Forecast(e.Figures, now, TimeSpan.Zero)), ExhaustionOrder.Instance))
        {
            var report = entry.Figures with { Spent = entry.Spending(oldest) };
            bytes += EstimatedBytes(report);
            if (kept.Count == max || bytes > maxBytes)
            {
                break;
            }

            kept.Add(report);
        }

        return kept;
    }

    /// <summary>An upper bound of one report's size in a snapshot: its id, ~100 bytes of figures and headers, 16 bytes per
    /// minute of spending (checked against the serializer by a test).</summary>
    public static int EstimatedBytes(FleetReport report) => 100 + (3 * report.SpaceId.Length) + (16 * report.Spent.Count);

    /// <summary>A board holding the Spaces of a snapshot.</summary>
    public static FleetBoard Restore(IEnumerable<FleetReport> snapshot, DateTimeOffset now)
    {
        var board = new FleetBoard();
        foreach (var report in snapshot)
        {
            board.Apply(report, now);
        }

        return board;
    }

    private static long OldestMinute(DateTimeOffset now) => MinuteSpend.MinuteOf(now) - (WindowMinutes - 1);

    private static ExhaustionForecast Forecast(FleetReport f, DateTimeOffset now, TimeSpan minimumElapsed) =>
        ExhaustionForecaster.Forecast(f.Allowance, f.Used, f.Held, f.CycleStart, f.NextRenewal, now, minimumElapsed);

    private static FleetSpace Space(FleetReport f, ExhaustionForecast forecast)
    {
        var available = Math.Max(0, f.Allowance - f.Used - f.Held);
        return new FleetSpace(f.SpaceId, f.Plan, f.Allowance, f.Used, f.Held, available, f.Allowance > 0 ? f.Used * 100.0 / f.Allowance : 0, f.NextRenewal, forecast, f.ChangedAt);
    }

    /// <summary>Least available share first (compared exactly, in 128 bits), then the earliest forecast exhaustion (none
    /// last), then the Space id.</summary>
    private sealed class ExhaustionOrder : IComparer<(FleetReport Figures, ExhaustionForecast Forecast)>
    {
        public static readonly ExhaustionOrder Instance = new();

        public int Compare((FleetReport Figures, ExhaustionForecast Forecast) x, (FleetReport Figures, ExhaustionForecast Forecast) y)
        {
            // available_x / allowance_x against available_y / allowance_y, cross-multiplied (an allowance of 0 has none).
            var share = ((Int128)Available(x.Figures) * Math.Max(1, y.Figures.Allowance)).CompareTo((Int128)Available(y.Figures) * Math.Max(1, x.Figures.Allowance));
            if (share != 0)
            {
                return share;
            }

            var runsOut = (x.Forecast.RunsOutAt ?? DateTimeOffset.MaxValue).CompareTo(y.Forecast.RunsOutAt ?? DateTimeOffset.MaxValue);
            return runsOut != 0 ? runsOut : string.CompareOrdinal(x.Figures.SpaceId, y.Figures.SpaceId);
        }

        private static long Available(FleetReport f) => Math.Max(0, f.Allowance - f.Used - f.Held);
    }

    /// <summary>One Space: its figures and its spending by minute, oldest first, within the window.</summary>
    private sealed class Entry(FleetReport figures)
    {
        private readonly List<MinuteSpend> _spent = [];

        public FleetReport Figures { get; set; } = figures with { Spent = [] };

        public void Add(MinuteSpend spend)
        {
            // Reports arrive roughly in time order: the minute is the last one, or new at the end; else found.
            var i = _spent.Count - 1;
            while (i >= 0 && _spent[i].Minute > spend.Minute)
            {
                i--;
            }

            if (i >= 0 && _spent[i].Minute == spend.Minute)
            {
                _spent[i] = spend with { Credits = _spent[i].Credits + spend.Credits };
            }
            else
            {
                _spent.Insert(i + 1, spend);
            }
        }

        public void Prune(long oldest)
        {
            var stale = 0;
            while (stale < _spent.Count && _spent[stale].Minute < oldest)
            {
                stale++;
            }

            _spent.RemoveRange(0, stale);
        }

        public long SpentSince(long oldest)
        {
            long credits = 0;
            foreach (var spend in _spent)
            {
                if (spend.Minute >= oldest)
                {
                    credits += spend.Credits;
                }
            }

            return credits;
        }

        public MinuteSpend[] Spending(long oldest) => _spent.Where(s => s.Minute >= oldest).ToArray();
    }
}
