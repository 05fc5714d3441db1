namespace QuotaGrains.Simulator;

/// <summary>How often each fault is injected (a probability per storage call): drawn per seed, so that some runs are
/// calm and some are storms. <paramref name="TornOnCrash"/> is per append in flight when its silo crashes;
/// <paramref name="AppendLost"/> is a broken store (an append answered as landed that did not land), for the
/// simulator's own test that it can fail.</summary>
internal sealed record FaultPlan(
    double AppendFails = 0,
    double AppendAmbiguous = 0,
    double AppendLate = 0,
    double Append412 = 0,
    double SegmentFails = 0,
    double ReadFails = 0,
    double SnapshotFails = 0,
    double SnapshotAmbiguous = 0,
    double SnapshotConflict = 0,
    double LedgerFails = 0,
    double LedgerAmbiguous = 0,
    double Slow = 0,
    double Hang = 0,
    double TornOnCrash = 0,
    double AppendLost = 0)
{
    public static FaultPlan Draw(Random random)
    {
        // Each kind is off in about a quarter of the seeds, and otherwise between rare and frequent.
        double P(double max) => random.NextDouble() < 0.25 ? 0 : max * random.NextDouble();
        return new FaultPlan(
            AppendFails: P(0.05),
            AppendAmbiguous: P(0.05),
            AppendLate: P(0.02),
            Append412: P(0.03),
            SegmentFails: P(0.05),
            ReadFails: P(0.1),
            SnapshotFails: P(0.08),
            SnapshotAmbiguous: P(0.05),
            SnapshotConflict: P(0.03),
            LedgerFails: P(0.08),
            LedgerAmbiguous: P(0.05),
            Slow: P(0.3),
            Hang: P(0.01),
            TornOnCrash: random.NextDouble());
    }

    public override string ToString() =>
        $"append fails {AppendFails:P1}, ambiguous {AppendAmbiguous:P1}, late {AppendLate:P1}, 412 {Append412:P1}; segment {SegmentFails:P1}; read {ReadFails:P1}; "
        + $"snapshot fails {SnapshotFails:P1}, ambiguous {SnapshotAmbiguous:P1}, conflict {SnapshotConflict:P1}; ledger fails {LedgerFails:P1}, ambiguous {LedgerAmbiguous:P1}; "
        + $"slow {Slow:P1}, hang {Hang:P1}; torn on crash {TornOnCrash:P0}";
}

/// <summary>An injected storage failure (what a reset connection or a 500 looks like to the caller).</summary>
internal sealed class InjectedFault(string message) : IOException(message);

/// <summary>What the simulation counted: faults injected and things that happened (so a test can see that each kind
/// of fault really occurs, and the simulator cannot silently stop injecting).</summary>
internal sealed class Counters
{
    private readonly SortedDictionary<string, long> _counts = new(StringComparer.Ordinal);

    public long this[string name] => _counts.TryGetValue(name, out var n) ? n : 0;

    public IEnumerable<KeyValuePair<string, long>> All => _counts;

    public void Add(string name, long n = 1) => _counts[name] = this[name] + n;

    public void AddAll(Counters other)
    {
        foreach (var (name, n) in other._counts)
        {
            Add(name, n);
        }
    }

    public override string ToString() => string.Join(", ", _counts.Select(c => $"{c.Key} {c.Value}"));
}
