using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace QuotaGrains.Tests.UsagePage;

/// <summary>The usage page in a real headless chromium: credits spent through the client show on it, exactly and live.</summary>
[Collection(UsagePageCollection.Name)]
public sealed class UsagePageBrowserTests(UsagePageFixture fixture)
{
    [Fact]
    public async Task The_page_shows_the_exact_pool_and_usage_by_member_and_feature()
    {
        var space = await fixture.CreateSpaceAsync("exact", PlanTier.Pro, "mia");
        var owner = UsagePageFixture.Owner(space);
        await fixture.SpendAsync(owner, space, "virtual-model", count: 3);                 // 3 × 4 = 12
        await fixture.SpendAsync("mia", space, "ai-shadows", count: 5);                    // 5 × 1 = 5
        await fixture.SpendAsync(owner, space, "virtual-model", commit: false);            // refunded: nothing
        var open = await fixture.Quota.ReserveAsync("mia", space, new GenerationSpec("recolor", MediaKind.Image, ResolutionTier.Hd)); // 4 × 2 = 8 held
        Assert.True(open.Succeeded, open.Rejection?.Message);

        var page = await fixture.NewPageAsync();
        var response = await page.GotoAsync(await fixture.LinkAsync(space, "mia"));
        Assert.Equal((int)HttpStatusCode.OK, response!.Status);

        Assert.Equal(space, await page.Locator("#space").InnerTextAsync());
        Assert.Equal("mia", await page.Locator("#member").InnerTextAsync());
        Assert.Equal(("17", "8", "475", "500", "8"), (
            await page.Locator("#used").InnerTextAsync(),
            await page.Locator("#held").InnerTextAsync(),
            await page.Locator("#available").InnerTextAsync(),
            await page.Locator("#allowance").InnerTextAsync(),
            await page.Locator("#generations").InnerTextAsync()));
        Assert.Equal("3%", await page.Locator(".gauge-percent").TextContentAsync());
        Assert.Equal("Pro", await page.Locator("#plan").InnerTextAsync());

        Assert.Equal([(owner, "12", "3"), ("mia", "5", "5")], await RowsAsync(page, "#by-member"));
        Assert.Equal([("virtual-model", "12", "3"), ("ai-shadows", "5", "5")], await RowsAsync(page, "#by-feature"));
        Assert.Equal([("Image", "17", "8")], await RowsAsync(page, "#by-media"));

        var balance = await fixture.Quota.GetBalanceAsync(space);
        Assert.Equal(Fmt(balance!.NextRenewal), await page.Locator("#renewal").InnerTextAsync());
        Assert.Matches(@"^\d+d \d\dh \d\dm \d\ds$", await page.Locator("#countdown").InnerTextAsync());

        // The forecast's sentence for the kind the engine gives (its instant moves with the clock, the kind does not).
        var forecast = (await fixture.Quota.GetSummaryAsync(space))!.Forecast;
        Assert.Matches(forecast.Kind switch
        {
            ForecastKind.RunsOut => @"^At this rate \([\d,.]+ credits an hour\) the pool runs out at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, before the renewal\.$",
            ForecastKind.LastsTheCycle => @"^At this rate \([\d,.]+ credits an hour\) the pool lasts the cycle\.$",
            _ => "^Too little spent this cycle to forecast\\.$",
        }, await page.Locator("#forecast").InnerTextAsync());

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(UsagePageFixture.Screenshots, "space-page.png"), FullPage = true });
        await open.DisposeAsync();
    }

    [Fact]
    public async Task The_gauge_and_totals_move_live_while_credits_are_spent_without_a_reload()
    {
        var space = await fixture.CreateSpaceAsync("live", PlanTier.Pro, "ola");
        await fixture.SpendAsync("ola", space, "ai-shadows", count: 2);
        var page = await fixture.NewPageAsync();
        await page.GotoAsync(await fixture.LinkAsync(space, "ola"));
        await Assertions.Expect(page.Locator("#used")).ToHaveTextAsync("2");
        // The live stream's first update replaces the panel: from then on, the page listens.
        await Assertions.Expect(page.Locator("#live")).ToHaveAttributeAsync("data-updates", "1");
        await page.EvaluateAsync("() => { window.loadedOnce = 'yes'; }");

        var spent = Stopwatch.StartNew();
        await fixture.SpendAsync("ola", space, "virtual-model", count: 10);                // + 40
        await Assertions.Expect(page.Locator("#used")).ToHaveTextAsync("42", new() { Timeout = UsagePageFixture.Deadline });
        var firstUpdate = spent.Elapsed;
        Assert.Equal("458", await page.Locator("#available").InnerTextAsync());
        Assert.Equal([("virtual-model", "40", "10"), ("ai-shadows", "2", "2")], await RowsAsync(page, "#by-feature"));

        // A hold shows as held at once, and goes back to available when refunded.
        var hold = await fixture.Quota.ReserveAsync("ola", space, new GenerationSpec("recolor", MediaKind.Image, ResolutionTier.FourK), count: 2); // 2 × 16
        Assert.True(hold.Succeeded, hold.Rejection?.Message);
        await Assertions.Expect(page.Locator("#held")).ToHaveTextAsync("32");
        Assert.Equal("426", await page.Locator("#available").InnerTextAsync());
        await hold.RefundAsync();
        await Assertions.Expect(page.Locator("#held")).ToHaveTextAsync("0");
        Assert.Equal("458", await page.Locator("#available").InnerTextAsync());

        Assert.Equal("yes", await page.EvaluateAsync<string>("() => window.loadedOnce"));
        Console.WriteLine($"usage page: first live update {firstUpdate.TotalMilliseconds:F0} ms after the commit was acknowledged");
    }

    [Fact]
    public async Task The_ledger_pages_through_every_entry_of_the_cycle_once_in_order()
    {
        var space = await fixture.CreateSpaceAsync("ledger", PlanTier.Max, "lou");
        for (var i = 0; i < 30; i++)
        {
            await fixture.SpendAsync("lou", space, "ai-shadows");
        }

        // Created, member added, then a reserve and a commit per spend: 62 entries, 20 a page.
        var page = await fixture.NewPageAsync();
        await page.GotoAsync(await fixture.LinkAsync(space, "lou"));
        var seen = new List<long>();
        for (var number = 1; ; number++)
        {
            Assert.Equal($"Page {number}", await page.Locator("#ledger-page").InnerTextAsync());
            var sequences = (await page.Locator("#ledger-entries tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.sequence)")).Select(long.Parse).ToList();
            Assert.Equal(number < 4 ? 20 : 2, sequences.Count);
            seen.AddRange(sequences);
            if (await page.Locator("#ledger-next").CountAsync() == 0)
            {
                break;
            }

            await page.Locator("#ledger-next").ClickAsync();
            // The next page's own URL and element, polled, never a load state: the page keeps a live-update stream
            // open, and on a loaded machine "load" came later than any deadline (CI, 2026-12-05; and 12-06, where
            // WaitForURLAsync with WaitUntil Commit still ended in Frame.WaitForLoadStateAsync and timed out).
            await Assertions.Expect(page).ToHaveURLAsync(new Regex($"[?&]page={number + 1}(&|$)"));
            await Assertions.Expect(page.Locator("#ledger-page")).ToHaveTextAsync($"Page {number + 1}");
            await Assertions.Expect(page.Locator("#ledger-entries tbody tr")).ToHaveCountAsync(number + 1 < 4 ? 20 : 2);
        }

        Assert.Equal(Enumerable.Range(1, 62).Select(i => (long)i), seen);
        Assert.Equal("committed · all pending items", await page.Locator("#ledger-entries tbody tr").Last.Locator("td").Nth(2).InnerTextAsync());

        // Back to the first page, then the cycle filter: the current cycle, from its first entry.
        await page.Locator("#ledger-first").ClickAsync();
        await Assertions.Expect(page.Locator("#ledger-page")).ToHaveTextAsync("Page 1");
        await page.Locator("#show-cycle").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("[?&]cycle="));
        await Assertions.Expect(page.Locator("#ledger-entries tbody tr")).ToHaveCountAsync(20);
        Assert.Equal("1", await page.Locator("#ledger-entries tbody tr").First.GetAttributeAsync("data-sequence"));
        Assert.Equal(20, await page.Locator("#ledger-entries tbody tr").CountAsync());
        var balance = await fixture.Quota.GetBalanceAsync(space);
        Assert.Equal(balance!.CycleStart.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), await page.Locator("#cycle").InputValueAsync());
    }

    [Fact]
    public async Task On_a_phone_width_screen_nothing_overflows_the_page()
    {
        var space = await fixture.CreateSpaceAsync("phone", PlanTier.Ultra, "pia", "pat");
        await fixture.SpendAsync("pia", space, "virtual-model", count: 12, resolution: ResolutionTier.FourK);   // 12 × 16
        await fixture.SpendAsync("pat", space, "edit-with-ai", count: 9);
        await fixture.SpendAsync(UsagePageFixture.Owner(space), space, "ai-shadows", count: 40, resolution: ResolutionTier.Hd);
        var page = await fixture.NewPageAsync(width: 375, height: 812);
        await page.GotoAsync(await fixture.LinkAsync(space, "pia"));
        Assert.Equal("192", await page.Locator("#by-member tbody tr[data-name='pia'] td.credits").InnerTextAsync());

        // Wide tables scroll inside their card; the page itself is no wider than the screen.
        Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth") <= 375, "the page is wider than the phone's screen");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(UsagePageFixture.Screenshots, "space-page-phone.png"), FullPage = true });
    }

    [Fact]
    public async Task Notifications_show_with_their_webhook_delivery_state_and_log()
    {
        var space = await fixture.CreateSpaceAsync("notify", PlanTier.Free, "nia");
        // A real receiver on loopback: the engine's own liveness endpoint answers a POST with 200.
        var endpoint = await fixture.Quota.SetWebhookEndpointAsync(space, new SetWebhookEndpointRequest(UsagePageFixture.Owner(space), new Uri(fixture.BaseAddress, "/health/live").ToString()));
        Assert.True(endpoint.Succeeded, endpoint.Rejection?.Message);
        await fixture.SpendAsync("nia", space, "ai-shadows", count: 30, resolution: ResolutionTier.Hd);   // 60 of 100: 50 % crossed

        var deadline = DateTimeOffset.UtcNow.AddSeconds(UsagePageFixture.Deadline / 1000);
        NotificationView? crossed;
        while ((crossed = (await fixture.Quota.GetNotificationsAsync(space)).SingleOrDefault(n => n.Kind == NotificationKind.ThresholdCrossed)) is not { Deliveries: [{ Status: DeliveryStatus.Delivered }] })
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the notification was never delivered");
            await Task.Delay(100);   // polls the outbox's delivery, bounded by the deadline
        }

        var page = await fixture.NewPageAsync();
        await page.GotoAsync(await fixture.LinkAsync(space, "nia"));
        var row = page.Locator($"#notification-list tbody tr[data-id='{crossed.Id}']");
        Assert.Equal([Fmt(crossed.At), crossed.Summary, $"{endpoint.EndpointId}: delivered"], await row.Locator("td").AllInnerTextsAsync());
        var attempt = page.Locator($"#delivery-log tbody tr[data-notification='{crossed.Id}']");
        Assert.Equal(1, await attempt.CountAsync());
        Assert.Equal([endpoint.EndpointId!, "1", "200"], (await attempt.Locator("td").AllInnerTextsAsync()).Skip(1).Take(3));
        Assert.DoesNotContain("/health/live", await page.ContentAsync(), StringComparison.Ordinal);
    }

    private static string Fmt(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<List<(string Name, string Credits, string Generations)>> RowsAsync(IPage page, string table)
    {
        var rows = new List<(string, string, string)>();
        foreach (var row in await page.Locator($"{table} tbody tr").AllAsync())
        {
            var cells = await row.Locator("td").AllInnerTextsAsync();
            rows.Add((cells[0], cells[1], cells[2]));
        }

        return rows;
    }
}
