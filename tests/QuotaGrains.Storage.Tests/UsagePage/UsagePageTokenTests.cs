using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using QuotaGrains.UsagePage.Access;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.Tests.UsagePage;

/// <summary>The link tokens on a fake clock, and the options that refuse a page without a usable key.</summary>
public sealed class UsagePageTokenTests
{
    private const string Key = "a signing key for the token tests, 32+ bytes";

    [Fact]
    public async Task A_token_opens_its_Space_until_it_expires_plus_five_seconds_of_skew_and_no_other_Space()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T10:00:00Z"));
        var tokens = Tokens(clock);
        var (token, expiresAt) = tokens.Issue("space-a", "ann", TimeSpan.FromMinutes(10));
        Assert.Equal(DateTimeOffset.Parse("2026-12-05T10:10:00Z"), expiresAt);

        Assert.Equal(new UsagePageAccess("space-a", "ann", expiresAt), await tokens.ValidateAsync(token, "space-a"));
        Assert.Null(await tokens.ValidateAsync(token, "space-b"));
        Assert.Null(await tokens.ValidateAsync(token, "SPACE-A"));

        clock.SetUtcNow(expiresAt + TimeSpan.FromSeconds(4));
        Assert.NotNull(await tokens.ValidateAsync(token, "space-a"));
        Assert.True(tokens.StillValid(new UsagePageAccess("space-a", "ann", expiresAt)));
        clock.SetUtcNow(expiresAt + TimeSpan.FromSeconds(5));
        Assert.Null(await tokens.ValidateAsync(token, "space-a"));
        Assert.False(tokens.StillValid(new UsagePageAccess("space-a", "ann", expiresAt)));
    }

    [Fact]
    public async Task A_token_of_another_key_or_a_disabled_page_opens_nothing_and_is_not_issued()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-05T10:00:00Z"));
        var (token, _) = Tokens(clock).Issue("space-a", "ann", TimeSpan.FromMinutes(10));
        Assert.Null(await Tokens(clock, "another key that is also long enough!").ValidateAsync(token, "space-a"));

        var off = new UsagePageTokens(Options.Create(new UsagePageOptions { Enabled = false, SigningKey = Key }), clock);
        Assert.False(off.IsEnabled);
        Assert.Null(await off.ValidateAsync(token, "space-a"));
        Assert.Throws<InvalidOperationException>(() => off.Issue("space-a", "ann", TimeSpan.FromMinutes(1)));
        Assert.Null(await Tokens(clock).ValidateAsync(token + new string('x', UsagePageTokens.MaxTokenLength), "space-a"));
    }

    [Fact]
    public void Options_refuse_an_enabled_page_without_a_usable_key_and_never_echo_a_key()
    {
        Assert.Empty(new UsagePageOptions().Validate());
        Assert.Empty(new UsagePageOptions { Enabled = true, SigningKey = Key }.Validate());
        Assert.Empty(new UsagePageOptions { Enabled = true, SigningKey = Key, OperatorKey = "sixteen-chars-ok" }.Validate());

        var shortKey = "only 31 bytes of signing key!!!";
        Assert.Equal(31, shortKey.Length);
        var refused = new[]
        {
            new UsagePageOptions { Enabled = true },
            new UsagePageOptions { Enabled = true, SigningKey = shortKey },
            new UsagePageOptions { Enabled = true, SigningKey = Key, OperatorKey = "short-operator" },
            new UsagePageOptions { Enabled = true, SigningKey = Key, OperatorKey = Key },
            new UsagePageOptions { PathPrefix = "usage" },
            new UsagePageOptions { PathPrefix = "/" },
            new UsagePageOptions { PathPrefix = "/health/usage" },
            new UsagePageOptions { MaxLinkLifetime = TimeSpan.FromDays(32) },
            new UsagePageOptions { RefreshInterval = TimeSpan.FromMilliseconds(50) },
            new UsagePageOptions { LedgerPageSize = 0 },
        };
        foreach (var options in refused)
        {
            var problems = options.Validate().ToList();
            Assert.Single(problems);
            Assert.DoesNotContain(shortKey, problems[0], StringComparison.Ordinal);
            Assert.DoesNotContain(Key, problems[0], StringComparison.Ordinal);
        }
    }

    private static UsagePageTokens Tokens(TimeProvider clock, string key = Key) =>
        new(Options.Create(new UsagePageOptions { Enabled = true, SigningKey = key }), clock);
}
