using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using QuotaGrains.Grains.Fleet;

namespace QuotaGrains.Tests.Usage;

/// <summary>Two silos whose collectors report to the fleet grain every 5 s of the fake clock.</summary>
public sealed class FleetClusterFixture : UsageClusterFixture
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override int Silos => 2;

    internal IEnumerable<FleetCollector> Collectors => Cluster.Silos.Select(s => s.ServiceProvider.GetRequiredService<FleetCollector>());

    protected override void Configure(QuotaGrainsOptionsBuilder quota) => quota.ConfigureFleet(o =>
    {
        o.ReportInterval = Interval;
        o.Top = 1_000;
    });

    /// <summary>Waits for the reports in progress on every silo (the timer starts them; this awaits their end).</summary>
    public Task ReportsAsync() => Task.WhenAll(Collectors.Select(c => c.Reporting)).WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Moves the fake clock one report interval on: every silo's report falls due; returns once they are sent.</summary>
    public async Task NextReportAsync()
    {
        await ReportsAsync();
        Time.Advance(Interval);
        await ReportsAsync();
    }
}

/// <summary>The fleet view through <see cref="Client.IQuotaClient.GetFleetAsync"/>: fed by the Spaces' own reports, at most
/// one report interval behind, across two silos, and kept across a restart of the fleet grain.</summary>
public sealed class FleetTests(FleetClusterFixture fixture) : IClassFixture<FleetClusterFixture>
{
    private static readonly GenerationSpec Shadows = new("ai-shadows"); // 1

    [Fact]
    public async Task A_change_is_in_the_view_at_the_next_report_and_not_before()
    {
        await fixture.ReportsAsync();
        var owner = UsageClusterFixture.NewId("owner");
        var spaces = new List<string>();
        for (var k = 1; k <= 6; k++)
        {
            var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, owner, customAllowance: 100);
            await fixture.SpendAsync(owner, spaceId, Shadows, 10 * k);
            spaces.Add(spaceId);
        }

        var before = await fixture.Quota.GetFleetAsync();
        Assert.DoesNotContain(before.ClosestToExhaustion, s => spaces.Contains(s.SpaceId));

        await fixture.NextReportAsync();

        var view = await fixture.Quota.GetFleetAsync();
        var ours = view.ClosestToExhaustion.Where(s => spaces.Contains(s.SpaceId)).ToList();
        Assert.Equal(Enumerable.Range(1, 6).Reverse().Select(k => spaces[k - 1]), ours.Select(s => s.SpaceId));
        Assert.Equal(Enumerable.Range(1, 6).Reverse().Select(k => (100L, 10L * k, 0L, 100L - 10 * k)), ours.Select(s => (s.Allowance, s.Used, s.Held, s.Available)));
        Assert.Equal(
            Enumerable.Range(1, 6).Reverse().Select(k => new FleetSpender(spaces[k - 1], PlanTier.Enterprise, 10 * k)),
            view.TopSpendersLastHour.Where(s => spaces.Contains(s.SpaceId)));
        Assert.Equal(FleetClusterFixture.Interval, view.ReportInterval);
    }

    [Fact]
    public async Task A_change_right_after_a_report_leaves_with_the_next_one_even_if_the_Space_goes_quiet()
    {
        var (owner, spaceId) = await SpentAndReportedAsync(allowance: 1_000, credits: 5);
        await fixture.SpendAsync(owner, spaceId, Shadows, 7);

        Assert.Equal(5, (await FleetSpaceAsync(spaceId)).Used);

        await fixture.NextReportAsync();

        Assert.Equal(12, (await FleetSpaceAsync(spaceId)).Used);
        Assert.Equal(12, (await fixture.Quota.GetFleetAsync()).TopSpendersLastHour.Single(s => s.SpaceId == spaceId).CreditsLastHour);
    }

    [Fact]
    public async Task The_last_hour_moves_on_with_the_clock()
    {
        var spentAt = fixture.Time.GetUtcNow();
        var (_, spaceId) = await SpentAndReportedAsync(allowance: 1_000, credits: 9);
        Assert.Contains(new FleetSpender(spaceId, PlanTier.Enterprise, 9), (await fixture.Quota.GetFleetAsync()).TopSpendersLastHour);

        // The spend's minute leaves the window 60 minutes after the minute began.
        var minuteStart = spentAt.AddTicks(-(spentAt.UtcTicks % TimeSpan.TicksPerMinute));
        fixture.AdvanceTo(minuteStart.AddMinutes(60).AddTicks(-1));
        Assert.Contains(new FleetSpender(spaceId, PlanTier.Enterprise, 9), (await fixture.Quota.GetFleetAsync()).TopSpendersLastHour);
        fixture.AdvanceTo(minuteStart.AddMinutes(60));
        Assert.DoesNotContain((await fixture.Quota.GetFleetAsync()).TopSpendersLastHour, s => s.SpaceId == spaceId);
        await fixture.ReportsAsync();
    }

    [Fact]
    public async Task The_fleet_grain_keeps_its_Spaces_across_a_deactivation()
    {
        var (_, spaceId) = await SpentAndReportedAsync(allowance: 50, credits: 49);
        var before = await FleetSpaceAsync(spaceId);

        await fixture.Cluster.DeactivateAsync(fixture.Grains.GetGrain<IFleetGrain>(IFleetGrain.Key));

        var view = await fixture.Quota.GetFleetAsync();
        Assert.Equal(before, view.ClosestToExhaustion.Single(s => s.SpaceId == spaceId));
        Assert.Contains(new FleetSpender(spaceId, PlanTier.Enterprise, 49), view.TopSpendersLastHour);
    }

    /// <summary>A new Enterprise Space that spent <paramref name="credits"/>, after the report that carried it.</summary>
    private async Task<(string Owner, string SpaceId)> SpentAndReportedAsync(long allowance, int credits)
    {
        await fixture.ReportsAsync();
        var owner = UsageClusterFixture.NewId("owner");
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, owner, customAllowance: allowance);
        await fixture.SpendAsync(owner, spaceId, Shadows, credits);
        await fixture.NextReportAsync();
        return (owner, spaceId);
    }

    private async Task<FleetSpace> FleetSpaceAsync(string spaceId) =>
        (await fixture.Quota.GetFleetAsync()).ClosestToExhaustion.Single(s => s.SpaceId == spaceId);
}
