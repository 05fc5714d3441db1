using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;

namespace Orleans.Hosting;

/// <summary>Adds the QuotaGrains engine (Space and user grains, price book, plan catalog, storage) to a silo.</summary>
public static class SiloBuilderQuotaExtensions
{
    /// <summary>The configuration section the engine reads: <c>Quota:Spaces</c>, <c>Quota:PriceBook</c>,
    /// <c>Quota:PlanCatalog</c> and <c>Quota:Storage</c>.</summary>
    public const string SectionName = "Quota";

    public static ISiloBuilder AddQuotaGrains(this ISiloBuilder builder, Action<QuotaGrainsOptionsBuilder>? configure = null)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(SectionName);

        services.AddOptions<SpaceRulesOptions>().Bind(section.GetSection("Spaces")).ValidateOnStart();
        services.AddOptions<PriceBookOptions>().Bind(section.GetSection("PriceBook")).ValidateOnStart();
        services.AddOptions<PlanCatalogOptions>().Bind(section.GetSection("PlanCatalog")).ValidateOnStart();
        services.AddOptions<QuotaStorageOptions>().Bind(section.GetSection("Storage")).ValidateOnStart();

        // An unconfigured price book or catalog takes the defaults of DOMAIN.md.
        services.PostConfigure<PriceBookOptions>(o =>
        {
            var defaults = PriceBookOptions.CreateDefault();
            if (o.Features.Count == 0)
            {
                o.Features = defaults.Features;
            }

            if (o.ResolutionMultipliers.Count == 0)
            {
                o.ResolutionMultipliers = defaults.ResolutionMultipliers;
            }
        });
        services.PostConfigure<PlanCatalogOptions>(o =>
        {
            if (o.Versions.Count == 0)
            {
                o.Versions = PlanCatalogOptions.CreateDefault().Versions;
            }
        });

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SpaceRulesOptions>, SpaceRulesOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PriceBookOptions>, PriceBookOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PlanCatalogOptions>, PlanCatalogOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QuotaStorageOptions>, QuotaStorageOptionsValidator>());

        configure?.Invoke(new QuotaGrainsOptionsBuilder(services));

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new QuotaRules(
            new PriceBook(sp.GetRequiredService<IOptions<PriceBookOptions>>().Value),
            new PlanCatalog(sp.GetRequiredService<IOptions<PlanCatalogOptions>>().Value),
            sp.GetRequiredService<IOptions<SpaceRulesOptions>>().Value));
        services.TryAddSingleton<QuotaInstruments>();

        // The storage kind decides the provider behind the configured name. Only the embedded one exists so far.
        var storage = new QuotaStorageOptions();
        section.GetSection("Storage").Bind(storage);
        if (string.Equals(storage.Kind, QuotaStorageOptions.Memory, StringComparison.OrdinalIgnoreCase)
            && !string.IsNullOrWhiteSpace(storage.ProviderName))
        {
            builder.AddMemoryGrainStorage(storage.ProviderName);
        }

        return builder;
    }
}

/// <summary>Code-level configuration of the engine, applied after the <c>Quota</c> configuration section.</summary>
public sealed class QuotaGrainsOptionsBuilder(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;

    public QuotaGrainsOptionsBuilder ConfigureSpaces(Action<SpaceRulesOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    public QuotaGrainsOptionsBuilder ConfigurePriceBook(Action<PriceBookOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

    public QuotaGrainsOptionsBuilder ConfigurePlanCatalog(Action<PlanCatalogOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }
}
