using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Notifications;

/// <summary>Webhook options are checked when the silo starts: a value out of range is named, the defaults pass.</summary>
public sealed class WebhookOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_a_dead_silo_is_swept_15_s_after_its_death()
    {
        var options = new WebhookOptions();
        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromSeconds(15), options.DeadSiloSweepDelay);
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(600, true)]
    [InlineData(601, false)]
    public void The_sweep_delay_after_a_death_is_between_0_and_10_minutes(int seconds, bool valid)
    {
        var problems = new WebhookOptions { DeadSiloSweepDelay = TimeSpan.FromSeconds(seconds) }.Validate().ToList();
        if (valid)
        {
            Assert.Empty(problems);
        }
        else
        {
            Assert.Equal(["DeadSiloSweepDelay must be between 0 and 10 minutes."], problems);
        }
    }
}
