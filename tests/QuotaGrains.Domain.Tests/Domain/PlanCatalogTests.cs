using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;

namespace QuotaGrains.Tests.Domain;

public sealed class PlanCatalogTests
{
    private static readonly DateTimeOffset _jan2025 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset _jul2025 = new(2025, 7, 1, 12, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(PlanTier.Free, 100)]
    [InlineData(PlanTier.Pro, 500)]
    [InlineData(PlanTier.Max, 1500)]
    [InlineData(PlanTier.Ultra, 2550)]
    public void Default_allowances_follow_the_plan_table(PlanTier plan, long expected)
    {
        var version = PlanCatalog.Default.VersionAt(_jul2025);

        Assert.Equal(expected, version.AllowanceOf(plan, null));
    }

    [Fact]
    public void Default_catalog_has_one_version()
    {
        var version = Assert.Single(PlanCatalog.Default.Versions);

        Assert.Equal(1, version.Version);
        Assert.Equal(new PlanCatalogVersion(1, DateTimeOffset.MinValue, 100, 500, 1500, 2550), version);
    }

    [Fact]
    public void Enterprise_uses_the_custom_allowance()
    {
        var version = PlanCatalog.Default.VersionAt(_jul2025);

        Assert.Equal(123_456, version.AllowanceOf(PlanTier.Enterprise, 123_456));
    }

    [Fact]
    public void Custom_allowance_is_ignored_by_catalog_plans()
    {
        var version = PlanCatalog.Default.VersionAt(_jul2025);

        Assert.Equal(500, version.AllowanceOf(PlanTier.Pro, 99));
    }

    [Fact]
    public void Enterprise_without_custom_allowance_throws()
    {
        var version = PlanCatalog.Default.VersionAt(_jul2025);

        Assert.Throws<ArgumentException>(() => version.AllowanceOf(PlanTier.Enterprise, null));
    }

    [Fact]
    public void Undefined_plan_throws()
    {
        var version = PlanCatalog.Default.VersionAt(_jul2025);

        Assert.Throws<ArgumentOutOfRangeException>(() => version.AllowanceOf((PlanTier)99, null));
    }

    [Fact]
    public void Tiers_derive_from_the_one_below()
    {
        var catalog = new PlanCatalog(new PlanCatalogOptions
        {
            Versions = [new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = _jan2025, FreeAllowance = 120 }],
        });

        var version = catalog.VersionAt(_jan2025);

        Assert.Equal(new PlanCatalogVersion(1, _jan2025, 120, 600, 1800, 3060), version);
    }

    [Fact]
    public void Version_at_picks_the_latest_version_effective_at_or_before_the_instant()
    {
        var catalog = ThreeVersions();
        var second = _jan2025;
        var third = _jul2025;

        Assert.Equal(1, catalog.VersionAt(second.AddTicks(-1)).Version);
        Assert.Equal(2, catalog.VersionAt(second).Version);
        Assert.Equal(2, catalog.VersionAt(second.AddTicks(1)).Version);
        Assert.Equal(2, catalog.VersionAt(third.AddTicks(-1)).Version);
        Assert.Equal(3, catalog.VersionAt(third).Version);
        Assert.Equal(3, catalog.VersionAt(third.AddYears(10)).Version);
        Assert.Equal(1, catalog.VersionAt(new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)).Version);
    }

    [Fact]
    public void Version_at_compares_instants_not_offsets()
    {
        var catalog = ThreeVersions();

        // 2025-01-01T01:00+02:00 is 2024-12-31T23:00Z: before version 2.
        Assert.Equal(1, catalog.VersionAt(new DateTimeOffset(2025, 1, 1, 1, 0, 0, TimeSpan.FromHours(2))).Version);

        // 2024-12-31T20:00-04:00 is 2025-01-01T00:00Z: exactly version 2.
        Assert.Equal(2, catalog.VersionAt(new DateTimeOffset(2024, 12, 31, 20, 0, 0, TimeSpan.FromHours(-4))).Version);
    }

    [Fact]
    public void Versions_are_ordered_and_carry_their_own_allowances()
    {
        var catalog = ThreeVersions();

        Assert.Equal([1, 2, 3], catalog.Versions.Select(v => v.Version).ToArray());
        Assert.Equal(100, catalog.Get(1).Free);
        Assert.Equal(200, catalog.Get(2).Free);
        Assert.Equal(1000, catalog.Get(2).Pro);
        Assert.Equal(300, catalog.VersionAt(_jul2025).AllowanceOf(PlanTier.Free, null));
        Assert.Throws<KeyNotFoundException>(() => catalog.Get(4));
    }

    [Fact]
    public void Catalog_without_versions_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new PlanCatalog(new PlanCatalogOptions()));
    }

    [Fact]
    public void Duplicate_version_numbers_are_refused()
    {
        var options = new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = DateTimeOffset.MinValue },
                new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = _jan2025 },
            ],
        };

        Assert.NotEmpty(PlanCatalog.Validate(options));
        Assert.Throws<ArgumentException>(() => new PlanCatalog(options));
    }

    [Fact]
    public void Two_versions_at_the_same_instant_are_refused()
    {
        var options = new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = _jan2025 },
                new PlanCatalogVersionOptions { Version = 2, EffectiveFrom = _jan2025 },
            ],
        };

        Assert.Throws<ArgumentException>(() => new PlanCatalog(options));
    }

    [Fact]
    public void Later_version_with_lower_number_is_refused()
    {
        var options = new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions { Version = 2, EffectiveFrom = DateTimeOffset.MinValue },
                new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = _jan2025 },
            ],
        };

        Assert.Throws<ArgumentException>(() => new PlanCatalog(options));
    }

    [Theory]
    [InlineData(0, 5, 3, 1.7)]
    [InlineData(100, 0.5, 3, 1.7)]
    [InlineData(100, 5, 3, 1001)]
    public void Out_of_range_allowance_or_multiplier_is_refused(long free, double pro, double max, double ultra)
    {
        var options = new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions
                {
                    Version = 1,
                    EffectiveFrom = DateTimeOffset.MinValue,
                    FreeAllowance = free,
                    ProMultiplier = (decimal)pro,
                    MaxMultiplier = (decimal)max,
                    UltraMultiplier = (decimal)ultra,
                },
            ],
        };

        Assert.Throws<ArgumentException>(() => new PlanCatalog(options));
    }

    [Fact]
    public void The_largest_catalog_accepted_derives_allowances_up_to_the_custom_allowance_limit()
    {
        var options = new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions
                {
                    Version = 1, EffectiveFrom = DateTimeOffset.MinValue, FreeAllowance = 1_000_000_000,
                    ProMultiplier = 1_000m, MaxMultiplier = 1_000m, UltraMultiplier = 1_000m,
                },
            ],
        };
        Assert.Empty(PlanCatalog.Validate(options));

        var version = new PlanCatalog(options).VersionAt(_jan2025);

        Assert.Equal((1_000_000_000L, 1_000_000_000_000L, 1_000_000_000_000_000L, 1_000_000_000_000_000_000L), (version.Free, version.Pro, version.Max, version.Ultra));
        Assert.Equal(SpaceRulesOptions.MaxCustomAllowanceLimit, version.Ultra);
    }

    [Fact]
    public void Default_options_validate_cleanly()
    {
        Assert.Empty(PlanCatalog.Validate(PlanCatalogOptions.CreateDefault()));
    }

    private static PlanCatalog ThreeVersions() => new(new PlanCatalogOptions
    {
        // Deliberately out of order: the catalog sorts them by EffectiveFrom.
        Versions =
        [
            new PlanCatalogVersionOptions { Version = 3, EffectiveFrom = _jul2025, FreeAllowance = 300 },
            new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = DateTimeOffset.MinValue, FreeAllowance = 100 },
            new PlanCatalogVersionOptions { Version = 2, EffectiveFrom = _jan2025, FreeAllowance = 200 },
        ],
    });
}
