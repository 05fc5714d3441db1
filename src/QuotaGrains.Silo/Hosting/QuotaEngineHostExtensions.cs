using System.Net;
using Azure.Data.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using QuotaGrains.ServiceDefaults;
using QuotaGrains.ServiceDefaults.Options;
using QuotaGrains.Silo.Demo;
using QuotaGrains.Silo.Health;
using QuotaGrains.Silo.Options;
using QuotaGrains.UsagePage.Hosting;

namespace QuotaGrains.Silo.Hosting;

public static class QuotaEngineHostExtensions
{
    /// <summary>The engine's silo (alone on localhost, or one of a cluster on Azure Table membership: <c>Quota:Silo</c>) with a co-hosted <see cref="Client.IQuotaClient"/>,
    /// served over HTTP on <c>Quota:Silo:HttpPort</c> with the service defaults (telemetry, health; <see cref="MapQuotaEngineEndpoints"/>
    /// maps them), its readiness checks, Orleans' dashboard by configuration and, with <paramref name="demo"/>, a
    /// walk-through that spends credits.</summary>
    public static WebApplicationBuilder AddQuotaEngine(this WebApplicationBuilder builder, bool demo)
    {
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";

            // A line written within a trace shows its TraceId and SpanId (ActivityTrackingOptions, in the service defaults).
            o.IncludeScopes = true;
        });

        // Clustering is chosen here, while the silo is built: read the settings now; the validator (ValidateOnStart)
        // refuses bad ones before anything starts, so a setting that cannot be used only needs a harmless stand-in.
        var siloSection = builder.Configuration.GetSection("Quota:Silo");
        var silo = siloSection.Get<QuotaSiloOptions>() ?? new QuotaSiloOptions();
        builder.Services.AddOptions<QuotaSiloOptions>().Bind(siloSection).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<QuotaSiloOptions>, QuotaSiloOptionsValidator>();
        var connectionString = builder.Configuration["Quota:Storage:ConnectionString"];

        builder.AddQuotaServiceDefaults();
        var telemetry = builder.Configuration.GetSection(QuotaTelemetryOptions.SectionName).Get<QuotaTelemetryOptions>() ?? new QuotaTelemetryOptions();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // An invalid port is refused by the validator before the server starts.
            if (silo.HttpPort is > 0 and <= 65535)
            {
                kestrel.Listen(silo.IsAzure ? IPAddress.Any : IPAddress.Loopback, silo.HttpPort);
            }
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = silo.ShutdownTimeout);
        builder.Services.AddHealthChecks()
            .AddCheck<SiloActiveHealthCheck>("silo", tags: [QuotaTelemetry.ReadyTag])
            .AddCheck<StorageHealthCheck>("storage", tags: [QuotaTelemetry.ReadyTag])
            .AddCheck<JournalHealthCheck>("journal", tags: [QuotaTelemetry.ReadyTag]);
        builder.Services.AddSingleton<StorageHealthCheck>();

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

            if (silo.Kubernetes)
            {
                orleans.UseKubernetesHosting();
            }

            if (telemetry.Traces)
            {
                // A grain call continues its caller's trace. Sampled: only a recorded trace costs anything; Orleans' own
                // filters build an unrecorded Activity on every call (benchmarks/RESULTS.md, "Telemetry: what it costs").
                if (telemetry.GrainCalls == GrainCallTracing.EveryCall)
                {
                    orleans.AddActivityPropagation();
                }
                else
                {
                    orleans.Services.AddSampledTracePropagation();
                }
            }

            if (silo.DashboardOn(builder.Environment))
            {
                orleans.AddDashboard();
            }

            orleans.AddQuotaGrains();
        });
        builder.Services.AddQuotaClient();
        // The usage page (Quota:UsagePage, off by default); its link-issuing grain runs in every silo.
        builder.Services.AddQuotaUsagePage();
        builder.Services.AddHostedService<EngineBanner>();

        if (demo)
        {
            builder.Services.AddHostedService<DemoWorker>();
        }

        return builder;
    }

    /// <summary>Health (<c>/health/live</c>, <c>/health/ready</c>), metrics (<c>/metrics</c>, by option) and, when on,
    /// the dashboard at <c>Quota:Silo:DashboardPath</c> and the usage page at <c>Quota:UsagePage:PathPrefix</c>.</summary>
    public static WebApplication MapQuotaEngineEndpoints(this WebApplication app)
    {
        app.MapQuotaDefaultEndpoints();
        // Read, not resolved: a refused setting must reach RunQuotaEngineAsync, which names it (exit 78).
        var silo = app.Configuration.GetSection("Quota:Silo").Get<QuotaSiloOptions>() ?? new QuotaSiloOptions();
        if (silo.DashboardOn(app.Environment))
        {
            app.MapOrleansDashboard(silo.DashboardPath.TrimEnd('/'));
        }

        app.MapQuotaUsagePage();

        return app;
    }
}
