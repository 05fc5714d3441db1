using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Options;
using StandardWebhooks;

namespace QuotaGrains.Grains.Notifications;

/// <summary>One delivery attempt: an HTTP POST of the payload, signed by Standard Webhooks (<c>webhook-id</c>,
/// <c>webhook-timestamp</c>, <c>webhook-signature</c>: HMAC-SHA256 of <c>id.timestamp.body</c> with the endpoint's
/// secret), bounded by <see cref="WebhookOptions.AttemptTimeout"/>. Redirects are not followed. A Space's own endpoints
/// connect through <see cref="WebhookDestinations"/>: public addresses only, unless configured otherwise.</summary>
internal sealed class WebhookSender(IHttpClientFactory clients, WebhookDestinations destinations, IOptions<WebhookOptions> options, TimeProvider time)
{
    /// <summary>The client of the global endpoints (the operator's configuration: any address).</summary>
    public const string HttpClientName = "QuotaGrains.Webhooks";

    /// <summary>The client of the Spaces' own endpoints (connections checked by <see cref="WebhookDestinations"/>).</summary>
    public const string SpaceHttpClientName = "QuotaGrains.Webhooks.Space";

    private readonly TimeSpan _timeout = options.Value.AttemptTimeout;

    /// <summary>A problem when a Space's endpoint at <paramref name="url"/> could never be reached (an address it may not reach).</summary>
    public string? CheckSpaceEndpoint(string url) => destinations.CheckUrl(url);

    public async Task<AttemptResult> SendAsync(string url, string secret, string id, string payload, bool spaceEndpoint)
    {
        var at = time.GetUtcNow();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("webhook-id", id);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", new StandardWebhook(secret).Sign(id, at, payload));

        var started = Stopwatch.GetTimestamp();
        using var timeout = new CancellationTokenSource(_timeout);
        try
        {
            using var response = await clients.CreateClient(spaceEndpoint ? SpaceHttpClientName : HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return new AttemptResult(at, (int)response.StatusCode, null, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new AttemptResult(at, null, $"timed out after {_timeout.TotalSeconds:0.###} s", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException e)
        {
            return new AttemptResult(at, null, e.HttpRequestError == HttpRequestError.Unknown ? e.Message : $"{e.HttpRequestError}: {e.Message}", Stopwatch.GetElapsedTime(started));
        }
        catch (Exception e)
        {
            // Anything else a handler throws is a failed attempt too, retried on the schedule: never an attempt that
            // leaves its delivery pending with nothing to retry it.
            return new AttemptResult(at, null, $"{e.GetType().Name}: {e.Message}", Stopwatch.GetElapsedTime(started));
        }
    }
}

/// <summary>What one attempt got: a status code, or an error (timeout, refused connection, ...).</summary>
internal readonly record struct AttemptResult(DateTimeOffset At, int? StatusCode, string? Error, TimeSpan Latency)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;

    public bool TimedOut => Error?.StartsWith("timed out", StringComparison.Ordinal) == true;
}
