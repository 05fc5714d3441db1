using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;
using QuotaGrains.Client;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Renewals;

namespace QuotaGrains.Tests.Renewal;

/// <summary>
/// An in-process silo (memory storage, in-memory reminders) for one test class, whose grains, grain timers and renewal
/// clock read a <see cref="FakeTimeProvider"/>. The clock's reminder ticks every second of real time (so does
/// <see cref="RenewalTestExtensions.TickAsync"/>, on demand); what it dispatches follows the fake clock.
/// </summary>
public class RenewalClusterFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset Start = new(2026, 1, 15, 10, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Time { get; } = new(Start);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    public IQuotaClient Quota => Cluster.Client.ServiceProvider.GetRequiredService<IQuotaClient>();

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton<TimeProvider>(Time);
            host.Services.UseTimeProviderForBackgroundAreas(TimeProvider.System);
            host.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        });
        builder.ConfigureSilo((_, silo) => silo.AddQuotaGrains(quota =>
        {
            quota.ConfigureRenewals(o =>
            {
                o.ClockPeriod = TimeSpan.FromSeconds(1);
                o.RetryDelay = TimeSpan.FromMilliseconds(20);

                // Only the index may wake a Space, and only at its second (one test turns the warm-up on).
                o.PrewarmLead = TimeSpan.Zero;
            });
            Configure(quota);
        }));
        builder.ConfigureClientHost(host => host.Services.AddQuotaClient(o => o.RetryDelay = TimeSpan.Zero));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    protected virtual void Configure(QuotaGrainsOptionsBuilder quota)
    {
    }
}

/// <summary>Helpers of the renewal tests: Spaces, the fake clock, the renewal clock and bounded waits for what timers
/// and reminders do (polls, never sleeps that correctness depends on).</summary>
public static class RenewalTestExtensions
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    public static ISpaceGrain Space(this RenewalClusterFixture fixture, string spaceId) => fixture.Grains.GetGrain<ISpaceGrain>(spaceId);

    internal static IRenewalClockGrain Clock(this RenewalClusterFixture fixture) => fixture.Grains.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey);

    public static async Task<string> CreateSpaceAsync(this RenewalClusterFixture fixture, PlanTier plan, string owner, BillingCadence cadence = BillingCadence.Monthly, DateTimeOffset? subscribedAt = null)
    {
        var spaceId = NewId("space");
        var created = await fixture.Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest(NewId("op"), owner, plan, cadence, subscribedAt));
        Assert.True(created.Succeeded, created.Rejection?.ToString());
        return spaceId;
    }

    /// <summary>The balance (a read: it activates the Space).</summary>
    public static async Task<SpaceBalance> BalanceAsync(this RenewalClusterFixture fixture, string spaceId)
    {
        var balance = await fixture.Space(spaceId).GetBalanceAsync();
        Assert.NotNull(balance);
        return balance;
    }

    public static void AdvanceTo(this RenewalClusterFixture fixture, DateTimeOffset instant)
    {
        var now = fixture.Time.GetUtcNow();
        Assert.True(instant >= now, $"Cannot move the clock back from {now:O} to {instant:O}.");
        fixture.Time.Advance(instant - now);
    }

    public static bool IsActivated(this RenewalClusterFixture fixture, string spaceId) =>
        fixture.Cluster.TryGetGrainContext(fixture.Space(spaceId).GetGrainId(), out _);

    /// <summary>Deactivates the Space: from here on only the renewal index can wake it (nothing else calls it).</summary>
    public static async Task DeactivateAsync(this RenewalClusterFixture fixture, string spaceId)
    {
        await fixture.Cluster.DeactivateAsync(fixture.Space(spaceId));
        Assert.False(fixture.IsActivated(spaceId));
    }

    /// <summary>Runs the clock's tick logic now (as its reminder does every second) and returns its status.</summary>
    internal static async Task<RenewalClockStatus> TickAsync(this RenewalClusterFixture fixture)
    {
        await fixture.Clock().StartAsync();
        return await fixture.Clock().GetStatusAsync();
    }

    /// <summary>Waits until the clock has handed <paramref name="minute"/> to the index.</summary>
    public static async Task WaitForDispatchAsync(this RenewalClusterFixture fixture, DateTimeOffset minute)
    {
        var status = await PollAsync(fixture.TickAsync, s => s.DispatchedThrough > RenewalSlot.MinuteOf(minute));
        Assert.True(status.DispatchedThrough > minute, $"minute {minute:O} not dispatched: {status}");
    }

    /// <summary>Waits until every minute up to and including <paramref name="minute"/> is done.</summary>
    internal static async Task<RenewalClockStatus> WaitForDoneAsync(this RenewalClusterFixture fixture, DateTimeOffset minute)
    {
        var status = await PollAsync(fixture.TickAsync, s => s.DoneThrough > RenewalSlot.MinuteOf(minute));
        Assert.True(status.DoneThrough > RenewalSlot.MinuteOf(minute), $"minute {minute:O} not done: {status}");
        return status;
    }

    /// <summary>Waits until something (only the renewal index can) activates the Space.</summary>
    public static async Task WaitUntilWokenAsync(this RenewalClusterFixture fixture, string spaceId)
    {
        var woken = await PollAsync(() => Task.FromResult(fixture.IsActivated(spaceId)), a => a);
        Assert.True(woken, $"Space {spaceId} was not woken within {WaitLimit}.");
    }

    /// <summary>True if the Space stays inactive for <paramref name="window"/> of real time (a bounded check that no
    /// timer already armed wakes it early).</summary>
    public static async Task<bool> StaysInactiveAsync(this RenewalClusterFixture fixture, string spaceId, TimeSpan window)
    {
        var deadline = DateTime.UtcNow + window;
        while (DateTime.UtcNow < deadline)
        {
            if (fixture.IsActivated(spaceId))
            {
                return false;
            }

            await Task.Delay(10);
        }

        return !fixture.IsActivated(spaceId);
    }

    /// <summary>Every durable ledger entry of the Space (a read that does not advance it).</summary>
    public static async Task<List<LedgerEntry>> LedgerAsync(this RenewalClusterFixture fixture, string spaceId) =>
        await LedgerAsync(fixture.Space(spaceId));

    public static async Task<List<LedgerEntry>> LedgerAsync(ISpaceGrain space)
    {
        var entries = new List<LedgerEntry>();
        var query = new LedgerQuery(PageSize: LedgerQuery.MaxPageSize);
        while (true)
        {
            var page = await space.GetLedgerAsync(query);
            entries.AddRange(page.Entries);
            if (page.NextAfterSequence is not { } after)
            {
                return entries;
            }

            query = query with { AfterSequence = after };
        }
    }

    public static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? WaitLimit);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(10);
        }
    }

    /// <summary>The instant <paramref name="daysAgo"/> days before now at the given time of day (UTC).</summary>
    public static DateTimeOffset DaysAgoAt(this RenewalClusterFixture fixture, int daysAgo, int hour, int minute, int second)
    {
        var now = fixture.Time.GetUtcNow();
        return new DateTimeOffset(now.Year, now.Month, now.Day, hour, minute, second, TimeSpan.Zero).AddDays(-daysAgo);
    }
}
