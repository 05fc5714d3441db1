using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Notifications;
using QuotaGrains.Grains.Options;

namespace Orleans.Hosting;

/// <summary>Notifications delivered by webhook: each Space's outbox grain, the HTTP client it posts with, the options
/// (section <c>Quota:Webhooks</c>) and the instruments.</summary>
public static class SiloBuilderWebhookExtensions
{
    /// <summary>Called by <c>AddQuotaGrains</c>.</summary>
    internal static ISiloBuilder AddQuotaWebhooks(this ISiloBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<WebhookOptions>().Bind(builder.Configuration.GetSection(SiloBuilderQuotaExtensions.SectionName).GetSection("Webhooks")).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        services.AddHttpClient(WebhookSender.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan); // each attempt has its own timeout
        services.AddHttpClient(WebhookSender.SpaceHttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectCallback = sp.GetRequiredService<WebhookDestinations>().ConnectAsync,
            })
            .ConfigureHttpClient(c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.TryAddSingleton(sp => new WebhookDestinations(
            [.. sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowedPrivateNetworks.Select(n => System.Net.IPNetwork.Parse(n))]));
        services.TryAddSingleton<WebhookSender>();
        services.TryAddSingleton<WebhookInstruments>();
        services.TryAddSingleton<INotificationHandover, OutboxHandover>();
        return builder;
    }

    /// <summary>Code-level configuration of webhook delivery, applied after the <c>Quota:Webhooks</c> section.</summary>
    public static QuotaGrainsOptionsBuilder ConfigureWebhooks(this QuotaGrainsOptionsBuilder builder, Action<WebhookOptions> configure)
    {
        builder.Services.Configure(configure);
        return builder;
    }
}
