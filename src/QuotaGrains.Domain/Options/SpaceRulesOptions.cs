namespace QuotaGrains.Domain.Options;

/// <summary>The rules of a Space that live in configuration (section <c>Quota:Spaces</c>).</summary>
public sealed class SpaceRulesOptions
{
    /// <summary>The largest <see cref="MaxCustomAllowance"/> accepted: 10^18 credits, the largest allowance the plan
    /// catalog can derive too (Free at most 10^9, each tier multiplier at most 1,000). Every sum the engine forms stays
    /// below <see cref="long.MaxValue"/> (≈ 9.2 × 10^18) with room to spare: used + held never exceeds the allowance, a
    /// reserve costs at most 10^11 (a unit price, multiplier included, of at most 10^6 × a batch of at most 100,000),
    /// and even two allowances added (a legacy Space's image and video pools merging) fit. Usage thresholds compare
    /// percent × allowance in 128 bits, so they are exact up to this bound as well.</summary>
    public const long MaxCustomAllowanceLimit = 1_000_000_000_000_000_000;

    /// <summary>A hold whose outcome never arrives is refunded after this long (default 15 minutes).</summary>
    public TimeSpan HoldTimeToLive { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long an operation id is remembered for replay (default 24 hours). Must exceed the hold TTL.</summary>
    public TimeSpan OperationIdRetention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>An active Space remembers at most this many operation ids and closed hold ids (default 50,000),
    /// besides the retention window; open holds are always recognized by their id.</summary>
    public int MaxRememberedOperations { get; set; } = 50_000;

    /// <summary>A snapshot keeps the most recent this many of them (default 2,000), so that it stays bounded however
    /// busy the Space is; after a reload the Space also remembers every operation journaled since the snapshot.</summary>
    public int MaxSnapshotOperations { get; set; } = 2_000;

    /// <summary>The most items one reserve may hold (default 1,000).</summary>
    public int MaxBatchItems { get; set; } = 1_000;

    /// <summary>The longest Space, user, operation or hold id accepted (default 128 characters).</summary>
    public int MaxIdLength { get; set; } = 128;

    /// <summary>The largest custom (Enterprise) allowance accepted per renewal (default 10^12); at most
    /// <see cref="MaxCustomAllowanceLimit"/> (10^18), so that no sum of credits the engine forms can overflow.</summary>
    public long MaxCustomAllowance { get; set; } = 1_000_000_000_000;

    /// <summary>Percentages of the allowance whose first crossing in a cycle emits a notification.</summary>
    public int[] UsageThresholds { get; set; } = [50, 80, 100];

    /// <summary>Past cycles kept for the usage page (at least 12).</summary>
    public int UsageHistoryCycles { get; set; } = 24;

    /// <summary>A Space's summary forecasts exhaustion only once this much of its cycle has passed (default 1 hour):
    /// earlier, a burst in the first minutes would read as "out by lunch".</summary>
    public TimeSpan ForecastMinimumElapsed { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (HoldTimeToLive <= TimeSpan.Zero)
        {
            yield return "HoldTimeToLive must be positive.";
        }

        if (OperationIdRetention <= HoldTimeToLive)
        {
            yield return "OperationIdRetention must be longer than HoldTimeToLive, or a retried reserve could be charged twice.";
        }

        if (MaxRememberedOperations is < 100 or > 1_000_000)
        {
            yield return "MaxRememberedOperations must be between 100 and 1,000,000.";
        }

        if (MaxSnapshotOperations < 100 || MaxSnapshotOperations > MaxRememberedOperations)
        {
            yield return "MaxSnapshotOperations must be at least 100 and at most MaxRememberedOperations.";
        }

        if (MaxBatchItems is < 1 or > 100_000)
        {
            yield return "MaxBatchItems must be between 1 and 100,000.";
        }

        if (MaxIdLength is < 8 or > 1_024)
        {
            yield return "MaxIdLength must be between 8 and 1,024.";
        }

        if (MaxCustomAllowance is < 1 or > MaxCustomAllowanceLimit)
        {
            yield return "MaxCustomAllowance must be between 1 and 1,000,000,000,000,000,000 (10^18).";
        }

        if (UsageThresholds.Any(t => t is < 1 or > 100) || UsageThresholds.Distinct().Count() != UsageThresholds.Length)
        {
            yield return "UsageThresholds must be distinct percentages between 1 and 100.";
        }

        if (UsageHistoryCycles < 12)
        {
            yield return "UsageHistoryCycles must be at least 12.";
        }

        if (ForecastMinimumElapsed < TimeSpan.Zero || ForecastMinimumElapsed > TimeSpan.FromDays(7))
        {
            yield return "ForecastMinimumElapsed must be between 0 and 7 days.";
        }
    }
}
