using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;
using QuotaGrains.Grains.Renewals;

namespace Orleans.Hosting;

/// <summary>Eager renewals: the renewal index, its clock and the reminder service that drives the clock.</summary>
public static class SiloBuilderRenewalExtensions
{
    /// <summary>Adds the renewal index and clock (options in <c>Quota:Renewals</c>) and, unless the silo already has
    /// one, a reminder service on the engine's storage: Azure Table reminders for <c>azure</c>, in-memory reminders
    /// for <c>memory</c>. Called by <c>AddQuotaGrains</c>.</summary>
    internal static ISiloBuilder AddQuotaRenewals(this ISiloBuilder builder, QuotaStorageOptions storage)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(SiloBuilderQuotaExtensions.SectionName).GetSection("Renewals");
        services.AddOptions<RenewalOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RenewalOptions>, RenewalOptionsValidator>());
        services.TryAddSingleton<RenewalIndex>();
        services.TryAddSingleton<RenewalInstruments>();
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, RenewalClockStarter>();

        if (services.Any(s => s.ServiceType == typeof(IReminderTable)))
        {
            return builder;
        }

        if (storage.IsAzure && !string.IsNullOrWhiteSpace(storage.ConnectionString))
        {
            var reminderTable = new RenewalOptions();
            section.Bind(reminderTable);
            var connectionString = storage.ConnectionString;
            builder.UseAzureTableReminderService(o =>
            {
                o.TableServiceClient = new TableServiceClient(connectionString);
                o.TableName = reminderTable.ReminderTable;
            });
        }
        else
        {
            builder.UseInMemoryReminderService();
        }

        return builder;
    }

    /// <summary>Code-level configuration of eager renewals, applied after the <c>Quota:Renewals</c> section.</summary>
    public static QuotaGrainsOptionsBuilder ConfigureRenewals(this QuotaGrainsOptionsBuilder builder, Action<RenewalOptions> configure)
    {
        builder.Services.Configure(configure);
        return builder;
    }
}
