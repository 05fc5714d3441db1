using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.UsagePage.Access;
using QuotaGrains.UsagePage.Data;
using QuotaGrains.UsagePage.Diagnostics;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.UsagePage.Hosting;

public static class UsagePageExtensions
{
    /// <summary>The usage page's services and options (<c>Quota:UsagePage</c>, validated at start), and the grain that
    /// issues links. In a silo's host, beside <c>AddQuotaClient</c>.</summary>
    public static IServiceCollection AddQuotaUsagePage(this IServiceCollection services)
    {
        services.AddOptions<UsagePageOptions>().BindConfiguration(UsagePageOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsagePageOptions>, UsagePageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UsagePageTokens>();
        services.TryAddSingleton<OperatorCredential>();
        services.TryAddSingleton<UsagePageData>();
        services.AddRazorComponents();
        return services;
    }

    /// <summary>Maps the pages under <c>Quota:UsagePage:PathPrefix</c> when <c>Quota:UsagePage:Enabled</c>: a Space's
    /// page (<c>/space/{id}?token=…</c>), its live stream (<c>/space/{id}/live</c>), the fleet page (<c>/fleet</c>) and
    /// the page's stylesheet and script (<c>/assets/…</c>).</summary>
    public static IEndpointRouteBuilder MapQuotaUsagePage(this IEndpointRouteBuilder endpoints)
    {
        // Read, not resolved: a refused setting must reach the host's start, which names it.
        var options = endpoints.ServiceProvider.GetRequiredService<IConfiguration>().GetSection(UsagePageOptions.SectionName).Get<UsagePageOptions>() ?? new UsagePageOptions();
        if (!options.Enabled || options.Validate().Any())
        {
            return endpoints;
        }

        var page = endpoints.MapGroup(options.Prefix).ExcludeFromDescription();
        page.AddEndpointFilter(async (context, next) =>
        {
            UsagePageEndpoints.SecureHeaders(context.HttpContext.Response);
            return await next(context);
        });
        page.MapGet("/space/{spaceId}", UsagePageEndpoints.SpacePageAsync);
        page.MapGet("/space/{spaceId}/live", UsagePageEndpoints.LiveAsync);
        page.MapGet("/fleet", UsagePageEndpoints.FleetAsync);
        page.MapGet("/assets/{name}", UsagePageEndpoints.Asset);

        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UsagePageExtensions));
        UsagePageLog.Mapped(logger, options.Prefix, string.IsNullOrEmpty(options.OperatorKey) ? "off: no OperatorKey" : "on");
        return endpoints;
    }
}
