using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using QuotaGrains.UsagePage.Components;
using QuotaGrains.UsagePage.Data;

namespace QuotaGrains.Tests.UsagePage;

/// <summary>The charts as HTML, for what a test in a browser cannot reach in a minute: a Space with a year of cycles.</summary>
public sealed class UsagePageComponentTests
{
    [Fact]
    public async Task The_cycle_chart_draws_each_cycle_oldest_first_scaled_to_the_largest_allowance()
    {
        var start = DateTimeOffset.Parse("2026-01-05T08:00:00Z");
        var cycles = Enumerable.Range(0, 12)
            .Select(i => new CycleRow(start.AddMonths(11 - i), start.AddMonths(12 - i), i == 5 ? 1_500 : 500, (11 - i) * 40L, 11 - i, i == 0))
            .ToList();   // newest first, as the engine returns them; one cycle on Max

        var html = await RenderAsync<CycleChart>(new Dictionary<string, object?> { [nameof(CycleChart.Cycles)] = cycles });

        var used = System.Text.RegularExpressions.Regex.Matches(html, "class=\"cycle-used\" x=\"[^\"]*\" y=\"([^\"]*)\" width=\"[^\"]*\" height=\"([^\"]*)\" data-start=\"([^\"]*)\" data-credits=\"(\\d+)\"");
        Assert.Equal(12, used.Count);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => start.AddMonths(i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'")), used.Select(m => m.Groups[3].Value));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (i * 40).ToString()), used.Select(m => m.Groups[4].Value));
        // 440 credits of a 1,500 largest allowance over a 110-unit plot: 32.27.
        Assert.Equal("32.27", used[11].Groups[2].Value);
        Assert.Equal("0", used[0].Groups[2].Value);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "cycle-allowance current"));
    }

    [Fact]
    public async Task The_gauge_draws_used_then_held_as_arcs_of_the_allowance()
    {
        var now = new SpaceNow("s", PlanTier.Pro, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(30), 500, 125, 250, 125, 3, 1, 2, [], [], [], new ExhaustionForecast(ForecastKind.None, 0), DateTimeOffset.UnixEpoch);
        var html = await RenderAsync<Gauge>(new Dictionary<string, object?> { [nameof(Gauge.Now)] = now });

        // Radius 48: circumference 301.59; a quarter used, a half held after it.
        Assert.Contains("class=\"ring-used\" cx=\"60\" cy=\"60\" r=\"48\" stroke-dasharray=\"75.4 301.59\"", html, StringComparison.Ordinal);
        Assert.Contains("class=\"ring-held\" cx=\"60\" cy=\"60\" r=\"48\" stroke-dasharray=\"150.8 301.59\" stroke-dashoffset=\"-75.4\"", html, StringComparison.Ordinal);
        Assert.Contains(">25%</text>", html, StringComparison.Ordinal);
    }

    private static async Task<string> RenderAsync<T>(Dictionary<string, object?> parameters) where T : IComponent
    {
        await using var services = new ServiceCollection().AddLogging().BuildServiceProvider();
        await using var renderer = new HtmlRenderer(services, NullLoggerFactory.Instance);
        return await renderer.Dispatcher.InvokeAsync(async () => (await renderer.RenderComponentAsync<T>(ParameterView.FromDictionary(parameters))).ToHtmlString());
    }
}
