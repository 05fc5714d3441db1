using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QuotaGrains.Client.Options;

namespace QuotaGrains.Tests.Client;

/// <summary><c>Quota:Client</c> is refused as the engine's own sections are: every bad setting, named with its section.</summary>
public sealed class QuotaClientOptionsTests
{
    [Fact]
    public void Bad_client_settings_are_refused_each_with_its_section()
    {
        using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddQuotaClient(o =>
            {
                o.MaxAttempts = 0;
                o.RetryBudget = TimeSpan.FromSeconds(-1);
                o.ResponseTimeout = TimeSpan.Zero;
            })
            .BuildServiceProvider();

        var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<QuotaClientOptions>>().Value);

        Assert.Equal(
            [
                "Quota:Client: MaxAttempts must be at least 1.",
                "Quota:Client: RetryBudget must not be negative (0 = only MaxAttempts).",
                "Quota:Client: ResponseTimeout must be positive.",
            ],
            refused.Failures);
    }

    [Fact]
    public void Default_client_settings_are_accepted() => Assert.Empty(new QuotaClientOptions().Validate());
}
