using QuotaGrains.Domain.Options;

namespace QuotaGrains.Tests.Domain;

/// <summary>The validation of <c>Quota:Spaces</c> where a bound keeps the engine's arithmetic exact.</summary>
public sealed class SpaceRulesOptionsTests
{
    [Fact]
    public void Default_options_validate_cleanly()
    {
        Assert.Empty(new SpaceRulesOptions().Validate());
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(1_000_000_000_000L)]
    [InlineData(long.MaxValue / 100)]
    [InlineData(SpaceRulesOptions.MaxCustomAllowanceLimit)]
    public void MaxCustomAllowance_up_to_its_limit_is_accepted(long value)
    {
        Assert.Empty(new SpaceRulesOptions { MaxCustomAllowance = value }.Validate());
    }

    [Theory]
    [InlineData(SpaceRulesOptions.MaxCustomAllowanceLimit + 1)]
    [InlineData(long.MaxValue / 2)]
    [InlineData(long.MaxValue)]
    [InlineData(0L)]
    [InlineData(-1L)]
    public void MaxCustomAllowance_above_its_limit_or_not_positive_is_refused(long value)
    {
        var problem = Assert.Single(new SpaceRulesOptions { MaxCustomAllowance = value }.Validate());

        Assert.Equal("MaxCustomAllowance must be between 1 and 1,000,000,000,000,000,000 (10^18).", problem);
    }
}
