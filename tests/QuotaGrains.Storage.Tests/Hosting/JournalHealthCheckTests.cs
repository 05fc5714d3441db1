using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Silo.Health;
using QuotaGrains.Tests.Cluster;

namespace QuotaGrains.Tests.Hosting;

/// <summary>The journal's readiness check on the writer itself, on a clock the test moves: unready right after a
/// failed append, Degraded (still ready) once the failure is older than its window with nothing appended since, healthy
/// after an append succeeds.</summary>
public sealed class JournalHealthCheckTests
{
    [Fact]
    public async Task A_failed_append_is_unready_for_its_window_then_degraded_until_an_append_succeeds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T12:00:00Z"));
        var store = new FaultyJournalStore(new MemoryJournalStore());
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var instruments = new QuotaInstruments(services.GetRequiredService<IMeterFactory>());
        var journal = new SiloJournalWriter(store, "health", Microsoft.Extensions.Options.Options.Create(new JournalOptions()), instruments,
            NullLogger<SiloJournalWriter>.Instance, runtime: new JournalRuntime(time, TaskScheduler.Default));
        var check = new JournalHealthCheck(journal);
        journal.Start();
        try
        {
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);

            store.AppendFault = (_, _) => new IOException("disk on fire");
            await Assert.ThrowsAsync<QuotaUnavailableException>(() => journal.AppendAsync("space-1", [1, 2, 3]));
            var failed = await CheckAsync(check);
            Assert.Equal(HealthStatus.Unhealthy, failed.Status);
            Assert.Contains("disk on fire", failed.Description, StringComparison.Ordinal);

            time.Advance(JournalHealthCheck.FailureWindow - TimeSpan.FromSeconds(1));
            Assert.Equal(HealthStatus.Unhealthy, (await CheckAsync(check)).Status);
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(HealthStatus.Degraded, (await CheckAsync(check)).Status);

            store.AppendFault = null;
            await journal.AppendAsync("space-1", [4, 5, 6]);
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(check)).Status);
        }
        finally
        {
            await journal.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_fenced_journal_is_unready_for_good()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T12:00:00Z"));
        var store = new MemoryJournalStore();
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var instruments = new QuotaInstruments(services.GetRequiredService<IMeterFactory>());
        var journal = new SiloJournalWriter(store, "stale", Microsoft.Extensions.Options.Options.Create(new JournalOptions()), instruments,
            NullLogger<SiloJournalWriter>.Instance, runtime: new JournalRuntime(time, TaskScheduler.Default));
        var check = new JournalHealthCheck(journal);
        journal.Start();
        try
        {
            await journal.AppendAsync("space-1", [1, 2, 3]);
            await JournalFence.FenceAsync(store, "stale", CancellationToken.None);
            await Assert.ThrowsAsync<QuotaUnavailableException>(() => journal.AppendAsync("space-1", [4, 5, 6]));

            time.Advance(JournalHealthCheck.FailureWindow * 2);
            var fenced = await CheckAsync(check);
            Assert.Equal(HealthStatus.Unhealthy, fenced.Status);
            Assert.Contains("was fenced", fenced.Description, StringComparison.Ordinal);
        }
        finally
        {
            await journal.DisposeAsync();
        }
    }

    private static Task<HealthCheckResult> CheckAsync(JournalHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("journal", check, null, null) });
}
