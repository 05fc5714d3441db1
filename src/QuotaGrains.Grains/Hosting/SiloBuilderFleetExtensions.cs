using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Fleet;
using QuotaGrains.Grains.Options;

namespace Orleans.Hosting;

/// <summary>The fleet view: each silo's collector of changed Spaces and the fleet grain they report to.</summary>
public static class SiloBuilderFleetExtensions
{
    /// <summary>Adds the fleet view (options in <c>Quota:Fleet</c>). Called by <c>AddQuotaGrains</c>.</summary>
    internal static ISiloBuilder AddQuotaFleet(this ISiloBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<FleetOptions>()
            .Bind(builder.Configuration.GetSection(SiloBuilderQuotaExtensions.SectionName).GetSection("Fleet"))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FleetOptions>, FleetOptionsValidator>());
        services.TryAddSingleton<FleetInstruments>();
        services.TryAddSingleton<FleetCollector>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<FleetCollector>());
        return builder;
    }

    /// <summary>Configures the fleet view in code, after the <c>Quota:Fleet</c> section.</summary>
    public static QuotaGrainsOptionsBuilder ConfigureFleet(this QuotaGrainsOptionsBuilder quota, Action<FleetOptions> configure)
    {
        quota.Services.Configure(configure);
        return quota;
    }
}
