using QuotaGrains.Diagnostics;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Grains.Options;

namespace Orleans.Hosting;

/// <summary>Adds the QuotaGrains engine (Space and user grains, price book, plan catalog, storage) to a silo.</summary>
public static class SiloBuilderQuotaExtensions
{
    /// <summary>The configuration section the engine reads: <c>Quota:Spaces</c>, <c>Quota:PriceBook</c>,
    /// <c>Quota:PlanCatalog</c> and <c>Quota:Storage</c>.</summary>
    public const string SectionName = "Quota";

    /// <summary>The meter of the engine's instruments (requests, credits, journal, renewals), for a host's
    /// OpenTelemetry <c>AddMeter</c>.</summary>
    public const string MeterName = QuotaInstruments.MeterName;

    /// <summary>The activity source of the engine's spans (the journal append; Orleans' grain call spans carry the
    /// Space, operation and outcome), for a host's OpenTelemetry <c>AddSource</c>.</summary>
    public const string ActivitySourceName = QuotaActivity.SourceName;

    public static ISiloBuilder AddQuotaGrains(this ISiloBuilder builder, Action<QuotaGrainsOptionsBuilder>? configure = null)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(SectionName);

        services.AddOptions<SpaceRulesOptions>().Bind(section.GetSection("Spaces")).ValidateOnStart();
        services.AddOptions<PriceBookOptions>().Bind(section.GetSection("PriceBook")).ValidateOnStart();
        services.AddOptions<PlanCatalogOptions>().Bind(section.GetSection("PlanCatalog")).ValidateOnStart();
        services.AddOptions<QuotaStorageOptions>().Bind(section.GetSection("Storage")).ValidateOnStart();
        services.AddOptions<JournalOptions>().Bind(section.GetSection("Journal")).ValidateOnStart();

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

        // Carries nothing unless AddSampledTracePropagation() says so.
        services.TryAddSingleton<GrainCallTrace>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SpaceRulesOptions>, SpaceRulesOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PriceBookOptions>, PriceBookOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PlanCatalogOptions>, PlanCatalogOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QuotaStorageOptions>, QuotaStorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JournalOptions>, JournalOptionsValidator>());

        // Storage is decided here, at registration: from configuration, unless the code says otherwise.
        var storage = new QuotaStorageOptions();
        section.GetSection("Storage").Bind(storage);
        configure?.Invoke(new QuotaGrainsOptionsBuilder(services, storage));
        services.Configure<QuotaStorageOptions>(o =>
        {
            o.Kind = storage.Kind;
            o.ConnectionString = storage.ConnectionString;
            o.ProviderName = storage.ProviderName;
            o.StateTable = storage.StateTable;
            o.LedgerTable = storage.LedgerTable;
            o.OperationTimeout = storage.OperationTimeout;
        });

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new QuotaRules(
            new PriceBook(sp.GetRequiredService<IOptions<PriceBookOptions>>().Value),
            new PlanCatalog(sp.GetRequiredService<IOptions<PlanCatalogOptions>>().Value),
            sp.GetRequiredService<IOptions<SpaceRulesOptions>>().Value));
        services.TryAddSingleton<QuotaInstruments>();
        services.TryAddSingleton<ActiveSpaces>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, EngineGauges>();

        // The storage kind decides what stands behind the journal, the ledger and the grain storage provider.
        if (storage.IsAzure && !string.IsNullOrWhiteSpace(storage.ConnectionString))
        {
            AddAzureStorage(builder, storage);
        }
        else if (!string.IsNullOrWhiteSpace(storage.ProviderName))
        {
            builder.AddMemoryGrainStorage(storage.ProviderName);

            // Orleans' binary format, as on Azure: the default (JSON with type names) is 15× slower for a snapshot.
            services.AddOptions<MemoryGrainStorageOptions>(storage.ProviderName)
                .Configure<Serializer>((o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
            services.TryAddSingleton<IJournalStore, MemoryJournalStore>();
            services.TryAddSingleton<ILedgerStore, MemoryLedgerStore>();
        }

        // Nothing but our own types leaves a client-facing grain (DESIGN.md, Errors; GrainBoundary): storage failures are
        // typed where they arise, for whatever store stands behind each (grain state is loaded while a grain activates,
        // and the journal read, where Orleans hands the failure to the callers as it is).
        if (!string.IsNullOrWhiteSpace(storage.ProviderName))
        {
            FailClosedGrainStorage.Decorate(services, storage.ProviderName);
        }

        if (services.Any(s => s.ServiceType == typeof(ILedgerStore)))
        {
            StorageFailure.Decorate<ILedgerStore>(services, (sp, inner) => new FailClosedLedgerStore(inner, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<FailClosedLedgerStore>>()));
        }

        // Eager renewals: the renewal index, its reminder-driven clock, reminders on the same storage.
        builder.AddQuotaRenewals(storage);

        // Notifications delivered by webhook, from each Space's outbox.
        builder.AddQuotaWebhooks();

        // The fleet view: each silo reports its Spaces' changes to one fleet grain.
        builder.AddQuotaFleet();

        services.TryAddSingleton(sp => new SiloJournalWriter(
            sp.GetRequiredService<IJournalStore>(),
            JournalLifecycle.StreamName(sp.GetRequiredService<IOptions<ClusterOptions>>(), sp.GetRequiredService<ILocalSiloDetails>()),
            sp.GetRequiredService<IOptions<JournalOptions>>(),
            sp.GetRequiredService<QuotaInstruments>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SiloJournalWriter>>(),
            sp.GetRequiredService<SpaceRecordCodec>()));
        services.TryAddSingleton<IJournalWriter>(sp => sp.GetRequiredService<SiloJournalWriter>());
        services.TryAddSingleton<SpaceRecordCodec>();
        services.TryAddSingleton<QuotaGrains.Grains.Spaces.SpaceLogServices>();
        services.TryAddSingleton<IStreamFencing, MembershipStreamFencing>();
        services.TryAddSingleton<JournalReader>();

        // The silos that recover from a dead stream split its reads (Quota:Journal:ShareDeadStreamReads).
        services.TryAddSingleton<IJournalPeerServiceClient, JournalPeerServiceClient>();
        services.TryAddSingleton<IJournalPeers, OrleansJournalPeers>();
        services.TryAddSingleton<DeadStreamShare>();
        builder.AddGrainService<JournalPeerService>();
        services.TryAddSingleton<SnapshotWriteLimiter>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, JournalLifecycle>();
        services.TryAddSingleton<JournalRetention>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<JournalRetention>());
        services.TryAddSingleton<QuotaGrains.Grains.Notifications.NotificationRecovery>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<QuotaGrains.Grains.Notifications.NotificationRecovery>());
        services.TryAddSingleton<DeadStreamPrefetch>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<DeadStreamPrefetch>());

        return builder;
    }

    private static void AddAzureStorage(ISiloBuilder builder, QuotaStorageOptions storage)
    {
        var services = builder.Services;
        var connectionString = storage.ConnectionString!;

        // Bounded retries and timeouts: during an outage requests fail closed in a known time, never hang.
        void Bound(RetryOptions r)
        {
            r.MaxRetries = 2;
            r.Delay = TimeSpan.FromMilliseconds(100);
            r.MaxDelay = TimeSpan.FromSeconds(1);
            r.NetworkTimeout = storage.OperationTimeout;
        }

        var blobOptions = new BlobClientOptions();
        Bound(blobOptions.Retry);
        var tableOptions = new TableClientOptions();
        Bound(tableOptions.Retry);

        services.TryAddSingleton<IJournalStore>(sp => new AzureAppendBlobJournalStore(
            new BlobServiceClient(connectionString, blobOptions).GetBlobContainerClient(sp.GetRequiredService<IOptions<JournalOptions>>().Value.Container)));
        services.TryAddSingleton<ILedgerStore>(_ => new AzureTableLedgerStore(
            new TableServiceClient(connectionString, tableOptions).GetTableClient(storage.LedgerTable)));
        builder.AddAzureTableGrainStorage(storage.ProviderName, options => options.Configure<IServiceProvider>((o, sp) =>
        {
            o.TableServiceClient = new TableServiceClient(connectionString, tableOptions);
            o.TableName = storage.StateTable;

            // Orleans' binary format: snapshots stay compact (the JSON default is several times larger).
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(sp.GetRequiredService<Serializer>());
        }));
    }
}

/// <summary>Code-level configuration of the engine, applied after the <c>Quota</c> configuration section.</summary>
public sealed class QuotaGrainsOptionsBuilder(IServiceCollection services, QuotaStorageOptions storage)
{
    public IServiceCollection Services { get; } = services;

    /// <summary>The storage as configured; change it here to choose storage in code.</summary>
    public QuotaStorageOptions Storage { get; } = storage;

    /// <summary>Durable storage on Azure (or Azurite): journal on append blobs, snapshots and ledger in tables.</summary>
    public QuotaGrainsOptionsBuilder UseAzureStorage(string connectionString)
    {
        Storage.Kind = QuotaStorageOptions.Azure;
        Storage.ConnectionString = connectionString;
        return this;
    }

    public QuotaGrainsOptionsBuilder ConfigureJournal(Action<JournalOptions> configure)
    {
        Services.Configure(configure);
        return this;
    }

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
