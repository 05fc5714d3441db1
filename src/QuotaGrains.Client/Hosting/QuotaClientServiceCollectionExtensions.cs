using QuotaGrains.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;
using System.Diagnostics.Metrics;
using QuotaGrains.Client;
using QuotaGrains.Client.Diagnostics;
using QuotaGrains.Client.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class QuotaClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IQuotaClient"/>. It needs an <see cref="IGrainFactory"/>: either the host is a silo
    /// (co-hosted client) or it has an Orleans client (<c>builder.UseOrleansClient(...)</c>).
    /// </summary>
    public static IServiceCollection AddQuotaClient(this IServiceCollection services, Action<QuotaClientOptions>? configure = null)
    {
        var options = services.AddOptions<QuotaClientOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QuotaClientOptions>, QuotaClientOptionsValidator>());
        services.AddOptions<QuotaClientOptions>().BindConfiguration("Quota:Client");
        if (configure is not null)
        {
            options.Configure(configure);
        }

        // With an Orleans client (a generation server): its response timeout is ours, and a lost gateway connection
        // ends the calls in flight (GatewayLossSignal). A silo resolves neither.
        services.AddOptions<ClientMessagingOptions>()
            .Configure<IOptions<QuotaClientOptions>>((messaging, quota) => messaging.ResponseTimeout = quota.Value.ResponseTimeout);
        services.TryAddSingleton<GatewayLossSignal>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterConnectionStatusObserver, GatewayLossSignal>(sp => sp.GetRequiredService<GatewayLossSignal>()));

        // Only a silo registers its local details: there the client shares the engine's process, and its admission gate
        // sees the engine's load (CallGate); an Orleans client's process is a generation server's.
        services.TryAddSingleton(sp => new ClientTelemetry(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<GrainCallTrace>();
        services.TryAddSingleton<IQuotaClient>(sp => new QuotaClient(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IOptions<QuotaClientOptions>>(),
            sp.GetRequiredService<GatewayLossSignal>(),
            sp.GetRequiredService<ILogger<QuotaClient>>(),
            inSilo: sp.GetService<ILocalSiloDetails>() is not null,
            sp.GetRequiredService<ClientTelemetry>(),
            sp.GetRequiredService<GrainCallTrace>()));
        return services;
    }
}
