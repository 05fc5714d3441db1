namespace QuotaGrains.Simulator.Tests;

/// <summary>The seeded simulation of the durability machinery (see the simulator's README section): clean over the CI
/// budget, deterministic, and really injecting every kind of fault it claims to.</summary>
public sealed class SimulationTests(SimulationBudget budget) : IClassFixture<SimulationBudget>
{
    [Fact]
    public void Every_seed_of_the_budget_runs_clean()
    {
        var failed = budget.Results.Where(r => !r.Passed).ToList();
        Assert.True(
            failed.Count == 0,
            string.Join(
                Environment.NewLine + Environment.NewLine,
                failed.Select(r => $"seed {r.Seed}: {r.Failure}{Environment.NewLine}{string.Join(Environment.NewLine, r.LastTrace.TakeLast(20))}{Environment.NewLine}reproduce: {Runner.Reproduce(r, new SimulationOptions(r.Seed, SimulationBudget.OperationsPerSeed))}")));
        Assert.Equal(SimulationBudget.Seeds, budget.Results.Count);
        Assert.InRange(budget.Results.Sum(r => r.Operations), SimulationBudget.Seeds * SimulationBudget.OperationsPerSeed, SimulationBudget.Seeds * (SimulationBudget.OperationsPerSeed + 500));
    }

    [Theory]
    [InlineData("fault.append-fails", 100)]
    [InlineData("fault.append-ambiguous", 100)]
    [InlineData("fault.append-late", 50)]
    [InlineData("append.landed-late", 20)]
    [InlineData("append.late-refused", 50)]
    [InlineData("fault.append-412", 50)]
    [InlineData("append.too-early", 200)]
    [InlineData("fault.hang", 50)]
    [InlineData("fault.segment-fails", 5)]
    [InlineData("fault.read-fails", 100)]
    [InlineData("fault.snapshot-fails", 50)]
    [InlineData("fault.snapshot-ambiguous", 30)]
    [InlineData("fault.snapshot-conflict", 30)]
    [InlineData("fault.ledger-fails", 50)]
    [InlineData("fault.ledger-ambiguous", 30)]
    [InlineData("fault.torn-tail", 5)]
    [InlineData("crashes", 100)]
    [InlineData("pauses", 50)]
    [InlineData("migrations", 50)]
    [InlineData("recoveries", 1_000)]
    [InlineData("deactivations.idle", 100)]
    [InlineData("unknown.resolved-landed", 100)]
    [InlineData("unknown.resolved-fresh", 100)]
    [InlineData("replays.checked", 1_000)]
    [InlineData("reuses", 100)]
    [InlineData("reads", 2_000)]
    [InlineData("ledger-checks", 1_000)]
    [InlineData("wake-ups", 100)]
    public void The_budget_exercises(string counter, long atLeast) =>
        Assert.True(budget.Counters[counter] >= atLeast, $"{counter}: {budget.Counters[counter]} < {atLeast} ({budget.Counters})");

    [Fact]
    public void The_same_seed_gives_the_same_trace_byte_for_byte()
    {
        var first = Runner.RunOne(new SimulationOptions(4242, 1_500));
        var second = Runner.RunOne(new SimulationOptions(4242, 1_500));
        var other = Runner.RunOne(new SimulationOptions(4243, 1_500));

        Assert.True(first.Passed, first.Failure);
        Assert.Equal(first.TraceHash, second.TraceHash);
        Assert.Equal(first.Steps, second.Steps);
        Assert.Equal(first.Counters.ToString(), second.Counters.ToString());
        Assert.NotEqual(first.TraceHash, other.TraceHash);
    }

    /// <summary>The live silos split the reads of a dead silo's stream, as the engine does by default: under crashes
    /// (a peer that dies while asked never answers), pauses and store faults, every seed runs clean, and ranges did pass
    /// between silos. (Off in the budget above, whose pinned seeds keep their runs.)</summary>
    [Fact]
    public void Seeds_whose_survivors_split_the_dead_streams_reads_run_clean()
    {
        var results = new System.Collections.Concurrent.ConcurrentBag<SimulationResult>();
        Parallel.For(1, 21, new ParallelOptions { MaxDegreeOfParallelism = 2 }, seed =>
            results.Add(Runner.RunOne(new SimulationOptions(seed, SimulationBudget.OperationsPerSeed) { ShareDeadStreamReads = true })));
        var counters = new Counters();
        foreach (var result in results)
        {
            counters.AddAll(result.Counters);
        }

        var failed = results.Where(r => !r.Passed).OrderBy(r => r.Seed).ToList();
        Assert.True(failed.Count == 0, string.Join(Environment.NewLine, failed.Select(r => $"seed {r.Seed}: {r.Failure}")));
        Assert.True(counters["peer.answers"] >= 20, $"ranges given by a peer: {counters["peer.answers"]} of {counters["peer.asks"]} asked");
        Assert.True(counters["crashes"] >= 10, $"crashes: {counters["crashes"]}");
    }

    /// <summary>The seeds that found bugs (benchmarks/RESULTS.md, Simulation), with the simulator as it was then.</summary>
    [Theory]
    [InlineData(211)]
    [InlineData(849)]
    [InlineData(4235)]
    [InlineData(276)]
    [InlineData(1428)]
    [InlineData(1814)]
    [InlineData(1174)]
    [InlineData(3570)]
    public void Seeds_that_found_bugs_run_clean(int seed)
    {
        var result = Runner.RunOne(new SimulationOptions(seed, 2_000));

        Assert.True(result.Passed, $"{result.Failure}{Environment.NewLine}{string.Join(Environment.NewLine, result.LastTrace.TakeLast(20))}");
    }

    /// <summary>Issue 16: without fencing, a silo declared dead that resumes (a pause) acknowledges appends to its own
    /// stream that the new owner never reads. Clean with fencing (the budget above runs these seeds too). (Seed 11 was
    /// one until refusals for credits journaled PoolExhausted, which moved its run: 12 took its place; since the writer
    /// seals the segment where an append failed, 12 runs clean without fencing and 11 is one again.)</summary>
    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(22)]
    public void A_stale_owner_is_caught_when_dead_silos_streams_are_not_fenced(int seed)
    {
        AssertCaught(new SimulationOptions(seed, 2_000) { NoFencing = true }, "pauses", "a stale owner's acknowledged appends being lost");
        Assert.True(Runner.RunOne(new SimulationOptions(seed, 2_000)).Passed);
    }

    /// <summary>Issue 16, the ledger with two owners: an activation that lost the snapshot's ETag race to another owner
    /// had written its pages, holding its own events under sequence numbers the winner acknowledged others under. A
    /// ledger that shows pages no snapshot named (as before ledger batches) is caught by the ledger check; as it is, the
    /// seed runs clean. (Seeds 276, 1428 and 1814 found it before later merges moved their runs; these find it now.)
    /// Two activations diverged over a block given up on that landed between their reads; since the writer seals the
    /// segment where an append failed, seeds 1–3000 run clean even with such a ledger, so these run without the seal.</summary>
    [Theory]
    [InlineData(780)]
    [InlineData(1009)]
    public void An_ETag_losers_ledger_pages_are_caught_when_the_ledger_shows_them(int seed)
    {
        var shown = Runner.RunOne(new SimulationOptions(seed, 2_000) { LedgerShowsUnnamedPages = true, NoSeal = true });

        Assert.False(shown.Passed, "the simulator did not notice a loser's ledger pages being read");
        Assert.StartsWith("ledger of space-", shown.Failure, StringComparison.Ordinal);
        Assert.True(shown.Counters["pauses"] > 0);
        Assert.True(Runner.RunOne(new SimulationOptions(seed, 2_000) { NoSeal = true }).Passed);
        Assert.True(Runner.RunOne(new SimulationOptions(seed, 2_000)).Passed);
    }

    /// <summary>Seed 3570: without the seal on the segment where an append failed, a block given up on landed after a
    /// recovery on the silo that wrote it read the segment and before the new owner (the silo was paused and declared
    /// dead) fenced and read it; the new owner showed its events to a read, then the stale activation wrote its snapshot
    /// first, and the next recovery no longer found them. The check catches it; with the seal the seed runs clean.</summary>
    [Fact]
    public void A_read_that_a_stale_owners_snapshot_then_hides_is_caught_when_the_writer_does_not_seal_after_a_failure()
    {
        var unsealed = Runner.RunOne(new SimulationOptions(3570, 2_000) { NoSeal = true });

        Assert.False(unsealed.Passed, "the simulator did not notice a read showing events that were then lost");
        Assert.Equal("recovery of space-3 lost what a reader was shown: recovered through #74, a read showed #84", unsealed.Failure);
        Assert.True(unsealed.Counters["pauses"] > 0);
        Assert.True(Runner.RunOne(new SimulationOptions(3570, 2_000)).Passed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_journal_that_loses_acknowledged_appends_is_caught(int seed) =>
        AssertCaught(new SimulationOptions(seed, 3_000) { BrokenStore = true }, "fault.append-lost", "acknowledged appends being lost");

    /// <summary>The run fails at a violation, after <paramref name="cause"/> happened.</summary>
    private static void AssertCaught(SimulationOptions options, string cause, string what)
    {
        var result = Runner.RunOne(options);

        Assert.False(result.Passed, $"the simulator did not notice {what}");
        Assert.True(result.Counters[cause] > 0);
        // The run stops at its first violation, but the step that found it may trace more (the activation it failed).
        Assert.Contains(result.LastTrace, line => line.Contains("VIOLATION", StringComparison.Ordinal));
    }
}
