using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Grains.Renewals;
using QuotaGrains.Tests.Storage;

namespace QuotaGrains.Tests.Renewal;

/// <summary>The reminder path on Azure storage (Azurite): the clock's reminder is one row of the Azure reminder table;
/// after the whole cluster was down for months, that reminder (and nothing else: the clock is not started by the silo)
/// reactivates the clock, which catches up from its progress in Azure and wakes the Space, which renews once per
/// missed cycle.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureReminderRenewalTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task After_a_cluster_outage_the_clocks_Azure_reminder_catches_up_every_missed_renewal_once()
    {
        var serviceId = RenewalTestExtensions.NewId("svc");
        var time = AzureClusters.NewClock(); // 2026-03-01 12:00 UTC
        var subscribed = new DateTimeOffset(2026, 2, 20, 4, 5, 6, TimeSpan.Zero);
        var spaceId = RenewalTestExtensions.NewId("space");

        var first = await StartAsync(serviceId, time, startClock: true);
        try
        {
            var created = await first.Client.ServiceProvider.GetRequiredService<IQuotaClient>()
                .CreateSpaceAsync(spaceId, new CreateSpaceRequest("create", "ida", PlanTier.Pro, BillingCadence.Monthly, subscribed));
            Assert.True(created.Succeeded, created.Rejection?.ToString());
            var clock = first.Client.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey);
            var status = await RenewalTestExtensions.PollAsync(clock.GetStatusAsync, s => s.ReminderRegistered);
            Assert.True(status.ReminderRegistered);
            Assert.Equal(1, status.IndexGrains);
        }
        finally
        {
            await first.DisposeAsync();
        }

        // One reminder row for the whole service, however many Spaces.
        var reminders = new TableServiceClient(azurite.Azurite.ConnectionString).GetTableClient("QuotaReminders")
            .Query<TableEntity>().Where(r => r.PartitionKey.StartsWith(serviceId, StringComparison.Ordinal)).ToList();
        Assert.Equal(RenewalIndex.ClockReminderName, Assert.Single(reminders).GetString("ReminderName"));

        // Three monthly renewals (March, April, May 20th, 04:05:06) pass while no silo runs.
        time.Advance(TimeSpan.FromDays(92));
        var second = await StartAsync(serviceId, time, startClock: false);
        try
        {
            var space = second.Client.GetGrain<ISpaceGrain>(spaceId);
            var woken = await RenewalTestExtensions.PollAsync(() => Task.FromResult(second.TryGetGrainContext(space.GetGrainId(), out _)), a => a, TimeSpan.FromSeconds(30));
            Assert.True(woken, "the Space was not woken after the outage");

            var renewals = (await RenewalTestExtensions.LedgerAsync(space)).Where(e => e.Kind == "renewed").ToList();
            Assert.Equal([subscribed.AddMonths(1), subscribed.AddMonths(2), subscribed.AddMonths(3)], renewals.Select(e => e.At));
            Assert.All(renewals, e => Assert.Equal(500, e.Credits));
            var balance = await space.GetBalanceAsync();
            Assert.Equal((subscribed.AddMonths(3), subscribed.AddMonths(4)), (balance!.CycleStart, balance.NextRenewal));

            // Only the reminder can have started the clock; it keeps ticking.
            var clock = second.Client.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey);
            Assert.True((await clock.GetStatusAsync()).Ticks >= 1);
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    private async Task<InProcessTestCluster> StartAsync(string serviceId, FakeTimeProvider time, bool startClock)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = serviceId;
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(time);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
            host.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        });
        builder.ConfigureSilo((_, silo) => silo.AddQuotaGrains(quota =>
        {
            quota.UseAzureStorage(azurite.Azurite.ConnectionString);

            // No retention sweep during the test: it would activate the Spaces of the first silo's journal itself.
            quota.ConfigureJournal(o => o.RetentionSweepInterval = TimeSpan.FromHours(1));
            quota.ConfigureRenewals(o =>
            {
                o.ClockPeriod = TimeSpan.FromSeconds(1);
                o.StartClockOnSiloStart = startClock;
            });
        }));
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}
