using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using QuotaGrains.Client;
using QuotaGrains.Tests.Hosting;
using QuotaGrains.UsagePage.Access;

namespace QuotaGrains.Tests.UsagePage;

/// <summary>One engine web host with the usage page on, and one headless Debian chromium driven by Playwright, shared
/// by the usage page's browser tests. Each test makes Spaces of its own.</summary>
public sealed class UsagePageFixture : IAsyncLifetime
{
    public const string SigningKey = "usage-page-tests: a signing key of more than 32 bytes";
    public const string OperatorKey = "operators-of-the-usage-page-tests";
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Bounds a hang only: every wait in these tests ends on what it waits for.</summary>
    public const float Deadline = 30_000;

    private EngineWebHost? _engine;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public EngineWebHost Engine => _engine ?? throw new InvalidOperationException("Not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("Not started.");

    public IQuotaClient Quota => Engine.Services.GetRequiredService<IQuotaClient>();

    internal UsagePageTokens Tokens => Engine.Services.GetRequiredService<UsagePageTokens>();

    public Uri BaseAddress => Engine.Http.BaseAddress!;

    /// <summary>Where the screenshots go: the test output directory.</summary>
    public static string Screenshots { get; } = Path.Combine(AppContext.BaseDirectory, "usage-page-screenshots");

    public async Task InitializeAsync()
    {
        _engine = await EngineWebHost.StartAsync(new Dictionary<string, string?>
        {
            ["Quota:UsagePage:Enabled"] = "true",
            ["Quota:UsagePage:SigningKey"] = SigningKey,
            ["Quota:UsagePage:OperatorKey"] = OperatorKey,
            ["Quota:UsagePage:LedgerPageSize"] = "20",
            ["Quota:Webhooks:AllowedPrivateNetworks:0"] = "127.0.0.0/8", // a Space's endpoint on this host
        },
        // Development, as `dotnet run` serves the page: the host then checks that no scoped service is taken from the root.
        environment: Environments.Development);
        _playwright = await Playwright.CreateAsync();
        // Expect(...) waits 5 s by default, whatever the context's timeout: on a loaded machine that is luck.
        Assertions.SetDefaultExpectTimeout(Deadline);
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            Timeout = Deadline,
        });
        Directory.CreateDirectory(Screenshots);
    }

    /// <summary>A page in a context of its own (no cookies or cache shared with other tests).</summary>
    public async Task<IPage> NewPageAsync(int width = 1100, int height = 900, HttpCredentials? credentials = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            HttpCredentials = credentials,
        });
        context.SetDefaultTimeout(Deadline);
        return await context.NewPageAsync();
    }

    /// <summary>A Space on <paramref name="plan"/> owned by <c>{id}-owner</c>, with <paramref name="members"/> as Members.</summary>
    public async Task<string> CreateSpaceAsync(string name, PlanTier plan, params string[] members)
    {
        var spaceId = $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)];
        var created = await Quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest($"{spaceId}-create", Owner(spaceId), plan));
        Assert.True(created.Succeeded, created.Rejection?.Message);
        foreach (var member in members)
        {
            var added = await Quota.AddMemberAsync(spaceId, new AddMemberRequest($"{spaceId}-add-{member}", Owner(spaceId), member, SpaceRole.Member));
            Assert.True(added.Succeeded, added.Rejection?.Message);
        }

        return spaceId;
    }

    public static string Owner(string spaceId) => $"{spaceId}-owner";

    /// <summary>Reserves <paramref name="count"/> generations and commits them all (or refunds them all).</summary>
    public async Task SpendAsync(string userId, string spaceId, string feature, int count = 1, ResolutionTier resolution = ResolutionTier.Standard, bool commit = true)
    {
        await using var hold = await Quota.ReserveAsync(userId, spaceId, new GenerationSpec(feature, MediaKind.Image, resolution), count);
        Assert.True(hold.Succeeded, hold.Rejection?.Message);
        var settled = commit ? await hold.CommitAsync() : await hold.RefundAsync();
        Assert.True(settled.Succeeded, settled.Rejection?.Message);
    }

    /// <summary>A link through the client, as a product's backend gets one.</summary>
    public async Task<string> LinkAsync(string spaceId, string userId, TimeSpan? lifetime = null)
    {
        var link = await Quota.CreateUsagePageLinkAsync(spaceId, userId, lifetime ?? TimeSpan.FromMinutes(30));
        Assert.True(link.Succeeded, link.Rejection?.Message);
        return link.Path!;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class UsagePageCollection : ICollectionFixture<UsagePageFixture>
{
    public const string Name = "usage page";
}
