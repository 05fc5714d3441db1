namespace QuotaGrains.Grains.Options;

/// <summary>The fleet view (section <c>Quota:Fleet</c>): each silo collects the latest figures of its Spaces as they
/// change and reports them to the fleet grain every <see cref="ReportInterval"/>.</summary>
public sealed class FleetOptions
{
    /// <summary>When false, Spaces report nothing and the fleet view stays empty (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often a silo sends what changed to the fleet grain, in one call (default 2 s): the view is at most
    /// this plus one call behind what the Spaces acknowledged.</summary>
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Spaces per list of the view when the caller does not say (default 10).</summary>
    public int Top { get; set; } = 10;

    /// <summary>How often the fleet grain writes its snapshot when it changed (default 1 min), and on deactivation.</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Spaces the snapshot keeps, the closest to exhaustion first (default 5,000), and fewer if they do not fit in
    /// 800 KB (one Azure Table entity holds 960 KB: a Space takes ~150 bytes, plus 16 per minute it spent in the last
    /// hour). The others are known again at their next change or renewal.</summary>
    public int MaxSnapshotSpaces { get; set; } = 5_000;

    public IEnumerable<string> Validate()
    {
        if (ReportInterval < TimeSpan.FromMilliseconds(100) || ReportInterval > TimeSpan.FromMinutes(1))
        {
            yield return "ReportInterval must be between 100 ms and 1 minute.";
        }

        if (Top is < 1 or > 1_000)
        {
            yield return "Top must be between 1 and 1,000.";
        }

        if (SnapshotInterval < TimeSpan.FromSeconds(1))
        {
            yield return "SnapshotInterval must be at least 1 second.";
        }

        if (MaxSnapshotSpaces is < 0 or > 8_000)
        {
            yield return "MaxSnapshotSpaces must be between 0 and 8,000 (one Azure Table entity).";
        }
    }
}
