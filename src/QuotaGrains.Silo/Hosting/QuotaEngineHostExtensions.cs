using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using QuotaGrains.Grains.Diagnostics;
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

        builder.UseOrleans(silo => silo
            .UseLocalhostClustering()
            .AddQuotaGrains());
        builder.Services.AddQuotaClient();
        builder.Services.AddHostedService<EngineBanner>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(QuotaInstruments.MeterName, "Microsoft.Orleans"));

        if (demo)
        {
            builder.Services.AddHostedService<DemoWorker>();
        }

        return builder;
    }
}
