using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Usage;

public sealed class FleetOptionsTests
{
    [Fact]
    public void Defaults_are_valid() => Assert.Empty(new FleetOptions().Validate());

    [Fact]
    public void Each_setting_out_of_range_is_named()
    {
        Assert.Equal(
            [
                "ReportInterval must be between 100 ms and 1 minute.",
                "Top must be between 1 and 1,000.",
                "SnapshotInterval must be at least 1 second.",
                "MaxSnapshotSpaces must be between 0 and 8,000 (one Azure Table entity).",
            ],
            new FleetOptions { ReportInterval = TimeSpan.FromMilliseconds(99), Top = 0, SnapshotInterval = TimeSpan.FromMilliseconds(999), MaxSnapshotSpaces = 8_001 }.Validate());
        Assert.Equal(
            ["ReportInterval must be between 100 ms and 1 minute.", "Top must be between 1 and 1,000."],
            new FleetOptions { ReportInterval = TimeSpan.FromMinutes(1).Add(TimeSpan.FromTicks(1)), Top = 1_001 }.Validate());
        Assert.Empty(new FleetOptions { ReportInterval = TimeSpan.FromMilliseconds(100), Top = 1_000, SnapshotInterval = TimeSpan.FromSeconds(1), MaxSnapshotSpaces = 0 }.Validate());
    }
}
