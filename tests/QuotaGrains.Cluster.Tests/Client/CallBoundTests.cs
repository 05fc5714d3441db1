using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Client.Options;
using static QuotaGrains.Tests.Client.QuotaClientFailureTests;

namespace QuotaGrains.Tests.Client;

/// <summary>Where the client's admission gate bounds by default: inside a silo's process (whose load is the engine's)
/// 16 calls per processor while busy; in a process with an Orleans client (a generation server, whose load says nothing
/// about the engine's) no bound, so it never queues on its own CPU. A value set in configuration applies in both.</summary>
public sealed class CallBoundTests
{
    private static readonly int CoHostedDefault = 16 * Environment.ProcessorCount;

    [Fact]
    public void An_external_client_does_not_bound_its_calls_by_default()
    {
        Assert.Equal(0, Bound(inSilo: false));
    }

    [Fact]
    public void A_client_inside_a_silo_bounds_its_calls_while_busy_by_default()
    {
        Assert.Equal(CoHostedDefault, Bound(inSilo: true));
    }

    [Theory]
    [InlineData(false, "8", 8)]
    [InlineData(true, "8", 8)]
    [InlineData(true, "0", 0)]
    public void A_configured_bound_applies_wherever_the_client_runs(bool inSilo, string configured, int expected)
    {
        Assert.Equal(expected, Bound(inSilo, configured));
    }

    [Fact]
    public void A_negative_bound_is_refused()
    {
        using var services = Services(inSilo: false, "-1");

        var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<QuotaClientOptions>>().Value);

        Assert.Contains("Quota:Client: MaxConcurrentCallsWhenBusy must not be negative (0 = no bound).", refused.Failures);
    }

    /// <summary>With real Orleans hosts: the silo's host registers its local details, the client host does not.</summary>
    [Fact]
    public async Task On_a_cluster_the_silos_client_bounds_and_the_external_client_does_not()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => silo.AddQuotaGrains());
        builder.ConfigureSiloHost((_, host) => host.Services.AddQuotaClient());
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient());
        await using var cluster = builder.Build();
        await cluster.DeployAsync();

        var coHosted = (QuotaClient)cluster.GetSiloServiceProvider().GetRequiredService<IQuotaClient>();
        var external = (QuotaClient)cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

        Assert.Equal(CoHostedDefault, coHosted.CallBoundWhenBusy);
        Assert.Equal(0, external.CallBoundWhenBusy);
    }

    private static int Bound(bool inSilo, string? configured = null)
    {
        using var services = Services(inSilo, configured);
        return ((QuotaClient)services.GetRequiredService<IQuotaClient>()).CallBoundWhenBusy;
    }

    private static ServiceProvider Services(bool inSilo, string? configured)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Quota:Client:MaxConcurrentCallsWhenBusy"] = configured })
            .Build();
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(Fake.GrainFactory(new FakeSpace()))
            .AddQuotaClient();
        if (inSilo)
        {
            services.AddSingleton<ILocalSiloDetails>(new SiloDetails());
        }

        return services.BuildServiceProvider();
    }

    /// <summary>Only its presence matters: a silo registers one, an Orleans client does not.</summary>
    private sealed class SiloDetails : ILocalSiloDetails
    {
        public string Name => "silo";

        public string ClusterId => "cluster";

        public string DnsHostName => "localhost";

        public SiloAddress SiloAddress => SiloAddress.Zero;

        public SiloAddress GatewayAddress => SiloAddress.Zero;
    }
}
