using System.Diagnostics;
using System.Globalization;

namespace QuotaGrains.Simulator;

/// <summary>Runs seeds, reports, and on a failure prints the seed, the failed check, the trace that led to it and the
/// command that reproduces it; optionally shrinks the run to the shortest failing budget.</summary>
internal static class Runner
{
    public const string Command = "dotnet run -c Release --project tests/QuotaGrains.Simulator --";

    /// <summary>One seed, on a thread of its own (no synchronization context, nothing shared with the caller).</summary>
    public static SimulationResult RunOne(SimulationOptions options)
    {
        SimulationResult? result = null;
        var thread = new Thread(() => result = new Simulation(options).Run(), 64 * 1024 * 1024) { IsBackground = true };
        thread.Start();
        thread.Join();
        return result!;
    }

    /// <summary>The shortest budget (operations) with which the seed still fails, by bisection: the run is a function
    /// of the seed, so a shorter budget is a prefix of the same run.</summary>
    public static SimulationResult Shrink(SimulationOptions options, SimulationResult failed)
    {
        long low = 0, high = failed.Operations;
        var best = failed;
        while (high - low > 1)
        {
            var mid = (low + high) / 2;
            var attempt = RunOne(options with { Operations = mid });
            if (attempt.Passed)
            {
                low = mid;
            }
            else
            {
                high = mid;
                best = attempt;
            }
        }

        return best;
    }

    public static string Reproduce(SimulationResult result, SimulationOptions options) =>
        string.Create(CultureInfo.InvariantCulture, $"{Command} --seed {result.Seed} --ops {options.Operations} --spaces {options.MaxSpaces}{(options.NoFaults ? " --no-faults" : "")}{(options.NoFencing ? " --no-fencing" : "")}{(options.NoSeal ? " --no-seal" : "")}{(options.ShareDeadStreamReads ? " --share-dead-streams" : "")}{(options.LedgerShowsUnnamedPages ? " --ledger-shows-unnamed-pages" : "")}");

    public static int Main(string[] args)
    {
        int first = 1, last = 1;
        long ops = 2_000;
        long? total = null;
        var spaces = 12;
        var shrink = false;
        var verbose = false;
        var noFaults = false;
        var noFencing = false;
        var unnamedPages = false;
        var noSeal = false;
        var share = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seed":
                    first = last = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--seeds":
                    var range = args[++i].Split("..");
                    first = int.Parse(range[0], CultureInfo.InvariantCulture);
                    last = int.Parse(range[1], CultureInfo.InvariantCulture);
                    break;
                case "--ops":
                    ops = long.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--total":
                    total = long.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--spaces":
                    spaces = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--shrink":
                    shrink = true;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                case "--no-faults":
                    noFaults = true;
                    break;
                case "--no-fencing":
                    noFencing = true;
                    break;
                case "--ledger-shows-unnamed-pages":
                    unnamedPages = true;
                    break;
                case "--no-seal":
                    noSeal = true;
                    break;
                case "--share-dead-streams":
                    share = true;
                    break;
                default:
                    Console.Error.WriteLine($"usage: {Command} [--seed N | --seeds A..B] [--ops N per seed] [--total N (seeds from A until N operations)] [--spaces N] [--shrink] [--verbose] [--no-faults] [--no-fencing] [--no-seal] [--ledger-shows-unnamed-pages] [--share-dead-streams]");
                    return 2;
            }
        }

        var clock = Stopwatch.StartNew();
        long operations = 0, seeds = 0;
        var counters = new Counters();
        for (var seed = first; total is { } budget ? operations < budget : seed <= last; seed++)
        {
            var options = new SimulationOptions(seed, ops, spaces, noFaults, Verbose: verbose) { NoFencing = noFencing, LedgerShowsUnnamedPages = unnamedPages, NoSeal = noSeal, ShareDeadStreamReads = share };
            var result = RunOne(options);
            operations += result.Operations;
            seeds++;
            counters.AddAll(result.Counters);
            if (!result.Passed)
            {
                Report(result, options);
                if (shrink)
                {
                    var shortest = Shrink(options, result);
                    Console.WriteLine($"shrunk: fails with {shortest.Operations} operations (of {result.Operations}):");
                    Report(shortest, options with { Operations = shortest.Operations });
                }

                return 1;
            }

            if (seeds % 100 == 0 || verbose)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {seed} ok: {operations:N0} operations in {seeds} seeds, {operations / clock.Elapsed.TotalSeconds:N0} ops/s"));
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"clean: {seeds} seeds, {operations:N0} operations in {clock.Elapsed.TotalSeconds:N1} s, {operations / clock.Elapsed.TotalSeconds:N0} ops/s of simulation"));
        Console.WriteLine($"counted: {counters}");
        return 0;
    }

    private static void Report(SimulationResult result, SimulationOptions options)
    {
        Console.WriteLine($"FAILED seed {result.Seed} after {result.Operations} operations ({result.Steps} steps): {result.Failure}");
        Console.WriteLine($"faults: {result.Faults}");
        Console.WriteLine("last trace lines:");
        foreach (var line in result.LastTrace)
        {
            Console.WriteLine("  " + line);
        }

        Console.WriteLine($"reproduce: {Reproduce(result, options)}");
    }
}
