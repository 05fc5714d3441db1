using System.Net.ServerSentEvents;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.UsagePage.Access;
using QuotaGrains.UsagePage.Components;
using QuotaGrains.UsagePage.Data;
using QuotaGrains.UsagePage.Diagnostics;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.UsagePage.Hosting;

/// <summary>The page's endpoints. Every refusal is the same page with the same status (404 for a Space's page, 401 for
/// the fleet's), whatever was wrong with the credential, and no Space is read before its credential is checked.</summary>
internal static class UsagePageEndpoints
{
    /// <summary>How often an open page's stream checks that its member still belongs to the Space.</summary>
    private static readonly TimeSpan MembershipRecheck = TimeSpan.FromSeconds(10);

    /// <summary>Webhook delivery attempts on a Space's page, newest first.</summary>
    private const int DeliveriesShown = 20;

    /// <summary>Spaces per list on the fleet page.</summary>
    private const int FleetTop = 20;

    private static readonly IReadOnlyDictionary<string, (byte[] Content, string Type)> Assets = new Dictionary<string, (byte[], string)>
    {
        ["usage.css"] = (Embedded("usage.css"), "text/css; charset=utf-8"),
        ["usage.js"] = (Embedded("usage.js"), "text/javascript; charset=utf-8"),
    };

    public static async Task<IResult> SpacePageAsync(
        HttpContext http, string spaceId, string? token, long? cycle, long? after, int? page,
        UsagePageTokens tokens, UsagePageData data, IOptions<UsagePageOptions> options, ILogger<UsagePageData> logger)
    {
        var prefix = options.Value.Prefix;
        try
        {
            var access = await tokens.ValidateAsync(token, spaceId);
            if (access is null || !await data.IsMemberAsync(spaceId, access.UserId, http.RequestAborted)
                || await data.GetNowAsync(spaceId, http.RequestAborted) is not { } now)
            {
                return Refused(http, logger, prefix, StatusCodes.Status404NotFound);
            }

            var cycles = await data.GetCyclesAsync(spaceId, now.CycleStart, http.RequestAborted);

            var current = cycles.FirstOrDefault(c => c.Current);
            var ledgerCycle = cycle is { } start ? cycles.FirstOrDefault(c => c.Start.ToUnixTimeSeconds() == start) ?? current : current;
            var ledger = await data.GetLedgerAsync(spaceId, ledgerCycle, Math.Max(0, after ?? 0), options.Value.LedgerPageSize, http.RequestAborted);
            var notifications = await data.GetNotificationsAsync(spaceId, http.RequestAborted);
            var deliveries = await data.GetDeliveriesAsync(spaceId, DeliveriesShown, http.RequestAborted);
            var model = new SpacePageModel(prefix, token!, access.UserId, access.ExpiresAt, now, cycles, ledgerCycle, ledger, Math.Max(1, page ?? 1), notifications, deliveries);
            return new RazorComponentResult<SpacePage>(new { Model = model });
        }
        catch (QuotaUnavailableException exception)
        {
            UsagePageLog.EngineUnavailable(logger, http.Request.Path, exception);
            return new RazorComponentResult<UnavailablePage>(new { Prefix = prefix }) { StatusCode = StatusCodes.Status503ServiceUnavailable };
        }
    }

    public static async Task<IResult> LiveAsync(
        HttpContext http, string spaceId, string? token,
        UsagePageTokens tokens, UsagePageData data, IOptions<UsagePageOptions> options,
        IHostApplicationLifetime lifetime, TimeProvider time, ILoggerFactory loggers, ILogger<UsagePageData> logger)
    {
        var access = await tokens.ValidateAsync(token, spaceId);
        if (access is null || !await data.IsMemberAsync(spaceId, access.UserId, http.RequestAborted))
        {
            UsagePageLog.Refused(logger, http.Request.Path);
            return Results.NotFound();
        }

        // An open page must not hold the silo's shutdown (which waits for requests in flight): the stream ends with it.
        var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        http.Response.RegisterForDispose(stop);
        var renderer = new LivePanelRenderer(http.RequestServices, loggers);
        http.Response.RegisterForDisposeAsync(renderer);
        return TypedResults.ServerSentEvents(Updates(access, tokens, data, renderer, options.Value.RefreshInterval, time, stop.Token));
    }

    /// <summary>Polls the Space's balance every <paramref name="interval"/> and, when it changed, reads the rest and
    /// sends the re-rendered panel; ends with "gone" when the link expires or the member leaves. Cost per open page:
    /// one balance query per interval (a copy of the durable pool on the Space's activation, interleaved), plus a
    /// summary query and a render per change.</summary>
    private static async IAsyncEnumerable<SseItem<string>> Updates(
        UsagePageAccess access, UsagePageTokens tokens, UsagePageData data, LivePanelRenderer renderer, TimeSpan interval, TimeProvider time,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        SpaceBalance? shown = null;
        var memberCheckedAt = time.GetUtcNow();
        do
        {
            if (!tokens.StillValid(access))
            {
                yield return new SseItem<string>("", "gone");
                yield break;
            }

            if (time.GetUtcNow() - memberCheckedAt >= MembershipRecheck)
            {
                memberCheckedAt = time.GetUtcNow();
                if (await Read<bool?>(async () => await data.IsMemberAsync(access.SpaceId, access.UserId, cancellationToken)) is false)
                {
                    yield return new SseItem<string>("", "gone");
                    yield break;
                }
            }

            // A read that failed (the engine busy or moving) is skipped: the next tick reads again.
            var balance = await Read(() => data.GetBalanceAsync(access.SpaceId, cancellationToken));
            if (balance is not null && (shown is null || Changed(shown, balance))
                && await Read(() => data.GetNowAsync(access.SpaceId, cancellationToken)) is { } now)
            {
                shown = balance;
                yield return new SseItem<string>(await renderer.RenderAsync(now), "update");
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    public static async Task<IResult> FleetAsync(HttpContext http, OperatorCredential credential, UsagePageData data, IOptions<UsagePageOptions> options, ILogger<UsagePageData> logger)
    {
        var prefix = options.Value.Prefix;
        if (!credential.Allows(http.Request))
        {
            http.Response.Headers.WWWAuthenticate = $"Basic realm=\"{OperatorCredential.Realm}\", charset=\"UTF-8\"";
            return Refused(http, logger, prefix, StatusCodes.Status401Unauthorized);
        }

        try
        {
            var model = await data.GetFleetAsync(FleetTop, http.RequestAborted);
            return new RazorComponentResult<FleetPage>(new { Prefix = prefix, Model = model });
        }
        catch (Exception exception) when (exception is QuotaUnavailableException or TimeoutException or Orleans.Runtime.OrleansException)
        {
            UsagePageLog.EngineUnavailable(logger, http.Request.Path, exception);
            return new RazorComponentResult<UnavailablePage>(new { Prefix = prefix }) { StatusCode = StatusCodes.Status503ServiceUnavailable };
        }
    }

    public static IResult Asset(string name) =>
        Assets.TryGetValue(name, out var asset) ? Results.Bytes(asset.Content, asset.Type) : Results.NotFound();

    /// <summary>Security headers on every answer: nothing cached (a page is a member's data), no referrer (the URL
    /// holds the token), nothing but our own files run, no framing.</summary>
    public static void SecureHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
    }

    private static RazorComponentResult<NotFoundPage> Refused(HttpContext http, ILogger logger, string prefix, int status)
    {
        UsagePageLog.Refused(logger, http.Request.Path);
        return new RazorComponentResult<NotFoundPage>(new { Prefix = prefix }) { StatusCode = status };
    }

    private static bool Changed(SpaceBalance before, SpaceBalance after) =>
        before.Used != after.Used || before.Held != after.Held || before.Allowance != after.Allowance || before.CycleStart != after.CycleStart
        || before.NextRenewal != after.NextRenewal || before.Plan != after.Plan || before.PendingPlan != after.PendingPlan
        || before.Members != after.Members || before.OpenHolds != after.OpenHolds;

    private static async Task<T?> Read<T>(Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (QuotaUnavailableException)
        {
            return default;
        }
    }

    private static byte[] Embedded(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name) ?? throw new InvalidOperationException($"The asset {name} is not embedded.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
