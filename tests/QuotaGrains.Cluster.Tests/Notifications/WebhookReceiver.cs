using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using QuotaGrains.Testing;

namespace QuotaGrains.Tests.Notifications;

/// <summary>A real HTTP receiver for webhooks: Kestrel in the test process on a free loopback port. Every request is
/// recorded (path, headers, body); what it answers is up to the test, per path (a status by attempt number, or a hang).</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Func<int, CancellationToken, Task<int>>> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);

    private WebhookReceiver(WebApplication app, int port)
    {
        _app = app;
        Port = port;
        app.MapPost("/{**path}", HandleAsync);
    }

    public int Port { get; }

    public IReadOnlyCollection<ReceivedWebhook> Received => _received;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var port = LoopbackPorts.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var receiver = new WebhookReceiver(builder.Build(), port);
        await receiver._app.StartAsync();
        return receiver;
    }

    public string Url(string path) => $"http://127.0.0.1:{Port}/{path}";

    /// <summary>What <paramref name="path"/> answers to its n-th request (1-based); 200 unless set.</summary>
    public void Answer(string path, Func<int, CancellationToken, Task<int>> answer) => _answers[path] = answer;

    public void Answer(string path, Func<int, int> status) => Answer(path, (n, _) => Task.FromResult(status(n)));

    public IReadOnlyList<ReceivedWebhook> At(string path) => _received.Where(r => r.Path == path).ToList();

    /// <summary>Waits (bounded: a hang, not a timing bet) until <paramref name="done"/> holds of what was received.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitAsync(string path, Func<IReadOnlyList<ReceivedWebhook>, bool> done, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var received = At(path);
            if (done(received))
            {
                return received;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{path}: {received.Count} request(s) received, not what the test waits for.");
            }

            await _arrived.WaitAsync(TimeSpan.FromMilliseconds(200));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context, string path)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var n = _counts.AddOrUpdate(path, 1, (_, c) => c + 1);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        var status = (int)HttpStatusCode.OK;
        Exception? aborted = null;
        try
        {
            if (_answers.TryGetValue(path, out var answer))
            {
                status = await answer(n, context.RequestAborted);
            }
        }
        catch (OperationCanceledException e)
        {
            aborted = e;
        }

        _received.Enqueue(new ReceivedWebhook(path, n, headers, body, DateTimeOffset.UtcNow, aborted is null ? status : null));
        _arrived.Release();
        if (aborted is null)
        {
            context.Response.StatusCode = status;
        }
    }
}

/// <summary>One request as received; <see cref="Status"/> is what was answered (<c>null</c>: the sender gave up first).</summary>
public sealed record ReceivedWebhook(string Path, int Number, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset At, int? Status)
{
    public string Id => Headers["webhook-id"];
}
