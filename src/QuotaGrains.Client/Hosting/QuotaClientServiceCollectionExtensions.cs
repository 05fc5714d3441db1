using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using QuotaGrains.Client;
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
        var options = services.AddOptions<QuotaClientOptions>()
            .Validate(o => o.MaxAttempts >= 1, "Quota:Client:MaxAttempts must be at least 1.")
            .Validate(o => o.RetryDelay >= TimeSpan.Zero, "Quota:Client:RetryDelay must not be negative.")
            .Validate(o => o.MaxCallerOperationIdLength is >= 1 and <= 96, "Quota:Client:MaxCallerOperationIdLength must be between 1 and 96.")
            .Validate(o => o.MaxConcurrentCallsWhenBusy >= 0, "Quota:Client:MaxConcurrentCallsWhenBusy must not be negative (0 = no bound).")
            .ValidateOnStart();
        services.AddOptions<QuotaClientOptions>().BindConfiguration("Quota:Client");
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddSingleton<IQuotaClient, QuotaClient>();
        return services;
    }
}
