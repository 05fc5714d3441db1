using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using QuotaGrains.Silo.Demo;

namespace QuotaGrains.Silo.Hosting;

public static class QuotaEngineHostExtensions
{
    /// <summary>A single-silo engine on localhost with a co-hosted <see cref="Client.IQuotaClient"/>, the engine's
    /// meters and, with <paramref name="demo"/>, a walk-through that spends credits.</summary>
    public static IHostApplicationBuilder AddQuotaEngine(this IHostApplicationBuilder builder, bool demo)
    {
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });

        // A single silo on localhost; ports and ids from Quota:Silo so that several engines (or a test) can coexist.
        var silo = builder.Configuration.GetSection("Quota:Silo");
        var siloPort = silo.GetValue("SiloPort", 11111);
        var gatewayPort = silo.GetValue("GatewayPort", 30000);
        var serviceId = silo.GetValue("ServiceId", "quotagrains")!;
        var clusterId = silo.GetValue("ClusterId", "local")!;
        builder.UseOrleans(orleans => orleans
            .UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: clusterId)
            .AddQuotaGrains());
        builder.Services.AddQuotaClient();
        builder.Services.AddHostedService<EngineBanner>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(SiloBuilderQuotaExtensions.MeterName, "Microsoft.Orleans"));

        if (demo)
        {
            builder.Services.AddHostedService<DemoWorker>();
        }

        return builder;
    }
}
