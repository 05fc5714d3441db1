namespace QuotaGrains.LoadTest.Options;

/// <summary>How Spaces are picked for each operation.</summary>
public enum SkewKind
{
    Uniform,
    Zipf,
}

/// <summary>What the load generator does. Every target (engine, cluster, Redis) runs the same workload from the
/// same seed, so the Spaces, users, plans and the sequence of choices each worker makes are identical.</summary>
public sealed record WorkloadOptions
{
    /// <summary>A label for reports (a scenario preset's name, or "custom").</summary>
    public string Scenario { get; init; } = "custom";

    /// <summary>Number of Spaces created before the run.</summary>
    public int Spaces { get; init; } = 1_000;

    /// <summary>Members per Space, the Owner included; each operation is made by one of them.</summary>
    public int MembersPerSpace { get; init; } = 4;

    /// <summary>Number of distinct users; 0 means Spaces × members (every user in exactly one Space). With fewer
    /// users than that, users belong to several Spaces (member j of Space s is user (s × members + j) mod users).</summary>
    public int Users { get; init; }

    public SkewKind Skew { get; init; } = SkewKind.Uniform;

    /// <summary>The Zipf exponent s (Space of rank k is picked with probability ∝ 1/k^s).</summary>
    public double ZipfExponent { get; init; } = 1.0;

    /// <summary>Operations in flight: the number of closed-loop workers, each with one request outstanding.</summary>
    public int Concurrency { get; init; } = 256;

    /// <summary>The measured time, after the warm-up. The run also stops at <see cref="Operations"/>.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Stop after this many measured flows (0 = no count limit; the duration still bounds the run).</summary>
    public long Operations { get; init; }

    /// <summary>Load before measuring (JIT, activations, connection pools); its results are not reported.</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Fraction of items whose generation "fails" and is refunded instead of committed.</summary>
    public double FailureRate { get; init; } = 0.05;

    /// <summary>Items per batch reserve (all or nothing); 1 means no batches.</summary>
    public int BatchSize { get; init; } = 1;

    /// <summary>Fraction of flows that reserve a batch of <see cref="BatchSize"/> items instead of one.</summary>
    public double BatchFraction { get; init; } = 1.0;

    /// <summary>Fraction of operations that are balance queries instead of reserve → settle flows.</summary>
    public double BalanceFraction { get; init; } = 0.1;

    /// <summary>Fraction of accepted reserves that are sent again with the same operation id (a "lost reply"); the
    /// replay must return the first outcome, and a replayed commit must not charge again.</summary>
    public double ReplayFraction { get; init; } = 0.01;

    /// <summary>Plans of the Spaces with relative weights, e.g. <c>free:20,pro:50,max:20,ultra:10</c>.</summary>
    public IReadOnlyList<(PlanTier Plan, double Weight)> PlanMix { get; init; } = [(PlanTier.Enterprise, 1)];

    /// <summary>The per-renewal allowance of Enterprise Spaces.</summary>
    public long EnterpriseAllowance { get; init; } = 1_000_000_000_000;

    public int Seed { get; init; } = 42;

    /// <summary>The run stops early once this many requests failed with an error (not a rejection).</summary>
    public long MaxErrors { get; init; } = 10_000;

    public int EffectiveUsers => Users > 0 ? Users : checked(Spaces * MembersPerSpace);

    public IEnumerable<string> Validate()
    {
        if (Spaces is < 1 or > 1_000_000)
        {
            yield return "--spaces must be between 1 and 1,000,000.";
        }

        if (MembersPerSpace is < 1 or > 1_000)
        {
            yield return "--members must be between 1 and 1,000.";
        }

        if (Users < 0 || (Users > 0 && Users < MembersPerSpace))
        {
            yield return "--users must be 0 (Spaces × members) or at least --members.";
        }

        if ((long)Spaces * MembersPerSpace > 5_000_000)
        {
            yield return "Spaces × members must not exceed 5,000,000.";
        }

        if (ZipfExponent is <= 0 or > 10)
        {
            yield return "--zipf must be in (0, 10].";
        }

        if (Concurrency is < 1 or > 100_000)
        {
            yield return "--concurrency must be between 1 and 100,000.";
        }

        if (Duration <= TimeSpan.Zero || Duration > TimeSpan.FromHours(1))
        {
            yield return "--duration must be positive and at most 1 hour.";
        }

        if (Warmup < TimeSpan.Zero || Warmup > TimeSpan.FromMinutes(10))
        {
            yield return "--warmup must be between 0 and 10 minutes.";
        }

        if (Operations < 0)
        {
            yield return "--ops must not be negative.";
        }

        if (FailureRate is < 0 or > 1 || BatchFraction is < 0 or > 1 || BalanceFraction is < 0 or > 1 || ReplayFraction is < 0 or > 1)
        {
            yield return "--failure-rate, --batch-fraction, --balance-fraction and --replay-fraction must be between 0 and 1.";
        }

        if (BatchSize is < 1 or > 1_000)
        {
            yield return "--batch-size must be between 1 and 1,000 (the engine's default MaxBatchItems).";
        }

        if (PlanMix.Count == 0 || PlanMix.Any(p => p.Weight < 0) || PlanMix.Sum(p => p.Weight) <= 0)
        {
            yield return "--plan-mix needs at least one plan with a positive weight.";
        }

        if (EnterpriseAllowance is < 1 or > 1_000_000_000_000)
        {
            yield return "--enterprise-allowance must be between 1 and 1,000,000,000,000.";
        }

        if (MaxErrors < 1)
        {
            yield return "--max-errors must be at least 1.";
        }
    }

    /// <summary>Parses <c>free:20,pro:50</c> (a plan without a weight counts 1).</summary>
    public static IReadOnlyList<(PlanTier Plan, double Weight)> ParsePlanMix(string text)
    {
        var mix = new List<(PlanTier, double)>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pieces = part.Split(':', '=');
            if (!Enum.TryParse<PlanTier>(pieces[0], ignoreCase: true, out var plan) || !Enum.IsDefined(plan))
            {
                throw new FormatException($"Unknown plan '{pieces[0]}' in --plan-mix; use free, pro, max, ultra or enterprise.");
            }

            var weight = 1.0;
            if (pieces.Length > 2 || (pieces.Length == 2 && !double.TryParse(pieces[1], System.Globalization.CultureInfo.InvariantCulture, out weight)))
            {
                throw new FormatException($"Bad weight in --plan-mix entry '{part}'; write plan:weight, e.g. pro:50.");
            }

            mix.Add((plan, weight));
        }

        return mix;
    }

    public string PlanMixText => string.Join(",", PlanMix.Select(p => $"{p.Plan.ToString().ToLowerInvariant()}:{p.Weight:0.###}"));

    public string SkewText => Skew == SkewKind.Zipf ? $"zipf({ZipfExponent:0.###})" : "uniform";
}
