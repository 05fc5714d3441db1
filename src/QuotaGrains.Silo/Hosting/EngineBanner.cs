using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Silo.Hosting;

/// <summary>Says what the engine is running with, once the silo is up.</summary>
internal sealed partial class EngineBanner(
    IHostApplicationLifetime lifetime,
    QuotaRules rules,
    IOptions<QuotaStorageOptions> storage,
    IOptions<Orleans.Configuration.EndpointOptions> endpoints,
    IOptions<Options.QuotaSiloOptions> silo,
    ILogger<EngineBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            var catalog = rules.Plans.VersionAt(DateTimeOffset.UtcNow);
            LogStarted(silo.Value.IsAzure ? "azure" : "localhost", silo.Value.ClusterId, endpoints.Value.SiloPort, endpoints.Value.GatewayPort, storage.Value.Kind, storage.Value.ProviderName);
            LogCatalog(catalog.Version, catalog.Free, catalog.Pro, catalog.Max, catalog.Ultra);
            LogRules(string.Join(", ", rules.Prices.Features.Order()), rules.Spaces.HoldTimeToLive, rules.Spaces.MaxBatchItems);
            LogReady();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Information, "QuotaGrains silo is up, clustering '{Clustering}', cluster '{ClusterId}' (silo port {SiloPort}, gateway {GatewayPort}); storage '{Kind}' as provider '{Provider}'.")]
    private partial void LogStarted(string clustering, string clusterId, int siloPort, int gatewayPort, string kind, string provider);

    [LoggerMessage(2, LogLevel.Information, "Plan catalog v{Version}: Free {Free}, Pro {Pro}, Max {Max}, Ultra {Ultra} credits per renewal; Enterprise custom.")]
    private partial void LogCatalog(int version, long free, long pro, long max, long ultra);

    [LoggerMessage(3, LogLevel.Information, "Price book features: {Features}. Holds expire after {Ttl}; batches up to {MaxBatch} items.")]
    private partial void LogRules(string features, TimeSpan ttl, int maxBatch);

    [LoggerMessage(4, LogLevel.Information, "Ready. Press Ctrl+C to stop.")]
    private partial void LogReady();
}
