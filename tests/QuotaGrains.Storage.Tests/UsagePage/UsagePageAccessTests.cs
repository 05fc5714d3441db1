using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using QuotaGrains.UsagePage.Access;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.Tests.UsagePage;

/// <summary>Who sees what: a Space's page opens only with a valid link of that Space for one of its members; every other
/// credential gets the same page, which names no Space and shows no number.</summary>
[Collection(UsagePageCollection.Name)]
public sealed class UsagePageAccessTests(UsagePageFixture fixture)
{
    [Fact]
    public async Task An_expired_tampered_foreign_or_missing_credential_sees_the_same_page_and_nothing_of_any_Space()
    {
        var target = await fixture.CreateSpaceAsync("target", PlanTier.Max, "tom", "gone");
        var other = await fixture.CreateSpaceAsync("other", PlanTier.Pro, "una", "tom");   // tom belongs to both
        await fixture.SpendAsync("tom", target, "virtual-model", count: 7);               // 28: must appear nowhere
        await fixture.SpendAsync("una", other, "recolor", count: 3);                      // 12

        var valid = await fixture.LinkAsync(target, "tom");
        var token = Token(valid);
        var pagePath = valid[..valid.IndexOf('?', StringComparison.Ordinal)];
        var (expired, _) = fixture.Tokens.Issue(target, "tom", DateTimeOffset.UtcNow - TimeSpan.FromHours(2), TimeSpan.FromHours(1));
        var foreignKey = new UsagePageTokens(Options.Create(new UsagePageOptions { Enabled = true, SigningKey = "another engine's key, also over 32 bytes" }), TimeProvider.System);
        var (forged, _) = foreignKey.Issue(target, "tom", TimeSpan.FromMinutes(5));
        var goneLink = Token(await fixture.LinkAsync(target, "gone"));
        var removed = await fixture.Quota.RemoveMemberAsync(target, new RemoveMemberRequest($"{target}-remove-gone", UsagePageFixture.Owner(target), "gone"));
        Assert.True(removed.Succeeded, removed.Rejection?.Message);
        var otherToken = Token(await fixture.LinkAsync(other, "una"));

        var refused = new Dictionary<string, string>
        {
            ["no token"] = pagePath,
            ["empty token"] = pagePath + "?token=",
            ["garbage"] = pagePath + "?token=not-a-jwt",
            ["expired"] = pagePath + "?token=" + expired,
            ["signature changed"] = pagePath + "?token=" + Tamper(token, part: 2),
            ["payload changed"] = pagePath + "?token=" + SwapSpace(token, other),
            ["unsigned (alg none)"] = pagePath + "?token=" + Unsigned(token),
            ["signed with another key"] = pagePath + "?token=" + forged,
            ["another Space's token"] = pagePath + "?token=" + otherToken,
            ["this token on another Space's page (of which its member is a member too)"] = $"/usage/space/{other}?token={token}",
            ["a member since removed"] = pagePath + "?token=" + goneLink,
            ["a Space that does not exist"] = $"/usage/space/nowhere-1?token={token}",
        };

        var page = await fixture.NewPageAsync();
        string? first = null;
        foreach (var (what, path) in refused)
        {
            var response = await page.GotoAsync(path);
            Assert.True(response!.Status == (int)HttpStatusCode.NotFound, $"{what}: {response.Status}");
            var html = await page.ContentAsync();
            first ??= html;
            Assert.True(first == html, $"{what}: the refusal differs from the first one");
            Assert.Equal("This link does not open a usage page", await page.Locator("h1").InnerTextAsync());
            foreach (var secret in new[] { target, other, "tom", "una", "28", "12", "1,500", "500" })
            {
                Assert.False(html.Contains(secret, StringComparison.Ordinal), $"{what}: the page shows '{secret}'");
            }

            // The live stream refuses the same credentials before it reads anything.
            var live = await fixture.Engine.Http.GetAsync(path.Replace("?token=", "/live?token=", StringComparison.Ordinal));
            Assert.True(live.StatusCode == HttpStatusCode.NotFound, $"{what} (live stream): {live.StatusCode}");
        }

        // The valid link still opens the page, so each refusal above was the credential's.
        var opened = await page.GotoAsync(valid);
        Assert.Equal((int)HttpStatusCode.OK, opened!.Status);
        Assert.Equal("28", await page.Locator("#used").InnerTextAsync());
    }

    [Fact]
    public async Task An_open_page_shows_nothing_once_its_link_expires()
    {
        var space = await fixture.CreateSpaceAsync("expiring", PlanTier.Pro, "eve");
        await fixture.SpendAsync("eve", space, "ai-shadows", count: 3);
        var (token, expiresAt) = fixture.Tokens.Issue(space, "eve", TimeSpan.FromSeconds(2));
        var page = await fixture.NewPageAsync();
        await page.GotoAsync($"/usage/space/{space}?token={token}");
        Assert.Equal("3", await page.Locator("#used").InnerTextAsync());

        // The live stream ends with "gone" once the link expires (plus the validator's 5 s of clock skew); the page reloads.
        await Assertions.Expect(page.Locator("#refused")).ToBeVisibleAsync(new() { Timeout = UsagePageFixture.Deadline });
        Assert.True(DateTimeOffset.UtcNow >= expiresAt, "refused before the link expired");
        Assert.False((await page.ContentAsync()).Contains(space, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_fleet_page_needs_the_operator_key_and_shows_the_fleet_view()
    {
        // A Free Space spent down to 4 of its 100 credits: the closest to exhaustion of all this collection's Spaces.
        var space = await fixture.CreateSpaceAsync("fleet", PlanTier.Free, "fay");
        await fixture.SpendAsync("fay", space, "virtual-model", count: 6, resolution: ResolutionTier.FourK);  // 6 × 16
        var deadline = DateTimeOffset.UtcNow.AddSeconds(UsagePageFixture.Deadline / 1000);
        while ((await fixture.Quota.GetFleetAsync()).ClosestToExhaustion.FirstOrDefault()?.SpaceId != space)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the fleet view never showed the Space");
            await Task.Delay(100);   // polls the report's arrival (every Quota:Fleet:ReportInterval), bounded by the deadline
        }

        foreach (var header in new AuthenticationHeaderValue?[] { null, Basic("operator", "a wrong key of enough length"), Basic("operator", UsagePageFixture.SigningKey), new("Bearer", UsagePageFixture.OperatorKey) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/usage/fleet") { Headers = { Authorization = header } };
            using var response = await fixture.Engine.Http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{header}: {response.StatusCode}");
            Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Contains("This link does not open a usage page", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var page = await fixture.NewPageAsync(credentials: new HttpCredentials { Username = "ops", Password = UsagePageFixture.OperatorKey });
        var opened = await page.GotoAsync("/usage/fleet");
        Assert.Equal((int)HttpStatusCode.OK, opened!.Status);
        Assert.Equal("1", await page.Locator("#silo-count").InnerTextAsync());
        Assert.Equal(1, await page.Locator("#silos tbody tr").CountAsync());
        Assert.True(long.Parse(await page.Locator("#active-spaces").InnerTextAsync(), System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.InvariantCulture) >= 1);
        var closest = page.Locator("#closest tbody tr").First;
        Assert.Equal(space, await closest.GetAttributeAsync("data-space"));
        Assert.Equal([space, "Free", "4 / 100", "96"], (await closest.Locator("td").AllInnerTextsAsync()).Take(4));
        Assert.Equal(["96"], await page.Locator($"#spenders tbody tr[data-space='{space}'] td.num").AllInnerTextsAsync());
        Assert.True(await page.Locator("#plans tbody tr[data-plan='Free']").CountAsync() == 1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(UsagePageFixture.Screenshots, "fleet-page.png"), FullPage = true });
    }

    [Fact]
    public async Task A_link_is_issued_only_for_a_member_of_an_existing_Space_within_the_lifetime_bound()
    {
        var space = await fixture.CreateSpaceAsync("links", PlanTier.Free, "lea");
        var before = DateTimeOffset.UtcNow;
        var link = await fixture.Quota.CreateUsagePageLinkAsync(space, "lea", TimeSpan.FromMinutes(10));
        Assert.True(link.Succeeded, link.Rejection?.Message);
        Assert.Equal($"/usage/space/{space}?token={link.Token}", link.Path);
        Assert.InRange(link.ExpiresAt!.Value, before.AddMinutes(10).AddSeconds(-1), DateTimeOffset.UtcNow.AddMinutes(10).AddSeconds(1));
        Assert.Equal(("lea", space), await AccessAsync(link.Token!, space));

        Assert.Equal(RejectionCode.NotAMember, (await fixture.Quota.CreateUsagePageLinkAsync(space, "stranger", TimeSpan.FromMinutes(10))).Rejection?.Code);
        Assert.Equal(RejectionCode.SpaceNotFound, (await fixture.Quota.CreateUsagePageLinkAsync("no-such-space-1", "lea", TimeSpan.FromMinutes(10))).Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, (await fixture.Quota.CreateUsagePageLinkAsync(space, "lea", TimeSpan.Zero)).Rejection?.Code);
        Assert.Equal(RejectionCode.InvalidRequest, (await fixture.Quota.CreateUsagePageLinkAsync(space, "lea", TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1))).Rejection?.Code);
        Assert.True((await fixture.Quota.CreateUsagePageLinkAsync(space, "lea", TimeSpan.FromHours(24))).Succeeded);
    }

    private async Task<(string, string)?> AccessAsync(string token, string spaceId) =>
        await fixture.Tokens.ValidateAsync(token, spaceId) is { } access ? (access.UserId, access.SpaceId) : null;

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static string Token(string path) => Uri.UnescapeDataString(path[(path.IndexOf("token=", StringComparison.Ordinal) + 6)..]);

    /// <summary>Flips one character in the middle of a part of the JWT (0 header, 1 payload, 2 signature).</summary>
    private static string Tamper(string token, int part)
    {
        var parts = token.Split('.');
        var chars = parts[part].ToCharArray();
        var i = chars.Length / 2;
        chars[i] = chars[i] == 'A' ? 'B' : 'A';
        parts[part] = new string(chars);
        return string.Join('.', parts);
    }

    /// <summary>The same signed token with its payload's Space replaced (the signature no longer matches).</summary>
    private static string SwapSpace(string token, string spaceId)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64Url(parts[1]));
        var changed = System.Text.RegularExpressions.Regex.Replace(payload, "\"space\":\"[^\"]*\"", $"\"space\":\"{spaceId}\"");
        Assert.NotEqual(payload, changed);
        parts[1] = Convert.ToBase64String(Encoding.UTF8.GetBytes(changed)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return string.Join('.', parts);
    }

    /// <summary>The token's payload under an "alg": "none" header and no signature.</summary>
    private static string Unsigned(string token)
    {
        var header = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"alg\":\"none\",\"typ\":\"JWT\"}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{header}.{token.Split('.')[1]}.";
    }

    private static byte[] Base64Url(string value)
    {
        var padded = value.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }
}
