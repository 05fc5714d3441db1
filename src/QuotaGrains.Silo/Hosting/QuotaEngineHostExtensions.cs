using System.Net;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using Orleans.Configuration;
using QuotaGrains.Silo.Options;
using QuotaGrains.Silo.Demo;

namespace QuotaGrains.Silo.Hosting;

public static class QuotaEngineHostExtensions
{
    /// <summary>The engine's silo (alone on localhost, or one of a cluster on Azure Table membership: <c>Quota:Silo</c>) with a co-hosted <see cref="Client.IQuotaClient"/>, the engine's
    /// meters and, with <paramref name="demo"/>, a walk-through that spends credits.</summary>
    public static IHostApplicationBuilder AddQuotaEngine(this IHostApplicationBuilder builder, bool demo)
    {
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });

        // Clustering is chosen here, while the silo is built: read the settings now; the validator (ValidateOnStart)
        // refuses bad ones before anything starts, so a setting that cannot be used only needs a harmless stand-in.
        var siloSection = builder.Configuration.GetSection("Quota:Silo");
        var silo = siloSection.Get<QuotaSiloOptions>() ?? new QuotaSiloOptions();
        builder.Services.AddOptions<QuotaSiloOptions>().Bind(siloSection).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<QuotaSiloOptions>, QuotaSiloOptionsValidator>();
        var connectionString = builder.Configuration["Quota:Storage:ConnectionString"];
        builder.UseOrleans(orleans =>
        {
            if (silo.IsAzure && !string.IsNullOrWhiteSpace(connectionString) && IPAddress.TryParse(silo.AdvertisedAddress, out var advertised))
            {
                // Several silos, one membership table in the engine's storage account; each advertises its own address.
                orleans.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(connectionString))
                    .Configure<ClusterOptions>(o =>
                    {
                        o.ServiceId = silo.ServiceId;
                        o.ClusterId = silo.ClusterId;
                    })
                    .Configure<ClusterMembershipOptions>(o =>
                    {
                        o.ProbeTimeout = silo.ProbeTimeout;
                        o.NumMissedProbesLimit = silo.MissedProbesLimit;
                    })
                    .ConfigureEndpoints(advertised, silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: true);
            }
            else
            {
                orleans.UseLocalhostClustering(silo.SiloPort, silo.GatewayPort, serviceId: silo.ServiceId, clusterId: silo.ClusterId);
            }

            orleans.AddQuotaGrains();
        });
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
