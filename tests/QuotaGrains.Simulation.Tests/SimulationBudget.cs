using System.Collections.Concurrent;

namespace QuotaGrains.Simulator.Tests;

/// <summary>The CI budget: about 100,000 operations over 50 seeds (two at a time), run once for the tests below.</summary>
public sealed class SimulationBudget
{
    public const int Seeds = 50;
    public const long OperationsPerSeed = 2_000;

    public SimulationBudget()
    {
        var results = new ConcurrentBag<SimulationResult>();
        Parallel.For(1, Seeds + 1, new ParallelOptions { MaxDegreeOfParallelism = 2 }, seed => results.Add(Runner.RunOne(new SimulationOptions(seed, OperationsPerSeed))));
        Results = results.OrderBy(r => r.Seed).ToList();
        foreach (var result in Results)
        {
            Counters.AddAll(result.Counters);
        }
    }

    internal IReadOnlyList<SimulationResult> Results { get; }

    internal Counters Counters { get; } = new();
}
