// A webhook receiver for measuring: answers 200, keeps each webhook-id's first arrival and its delay from the
// payload's timestamp (the event's instant); prints count, p50, p99, max when stopped (SIGTERM).
using System.Collections.Concurrent;
using System.Text.Json;
var first = new ConcurrentDictionary<string, (double DelayMs, string Type)>();
long requests = 0;
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://127.0.0.1:{args[0]}");
var app = builder.Build();
app.MapPost("/{**path}", async (HttpRequest request) =>
{
    var now = DateTimeOffset.UtcNow;
    using var json = await JsonDocument.ParseAsync(request.Body);
    Interlocked.Increment(ref requests);
    var id = json.RootElement.GetProperty("id").GetString()!;
    var at = json.RootElement.GetProperty("timestamp").GetDateTimeOffset();
    first.TryAdd(id, ((now - at).TotalMilliseconds, json.RootElement.GetProperty("type").GetString()!));
    return Results.Ok();
});
app.Lifetime.ApplicationStopping.Register(() =>
{
    var delays = first.Values.Select(v => v.DelayMs).Order().ToArray();
    var kinds = string.Join(", ", first.Values.GroupBy(v => v.Type).Select(g => $"{g.Key} {g.Count()}"));
    double P(double p) => delays[Math.Min(delays.Length - 1, (int)(p * delays.Length))];
    Console.WriteLine(delays.Length == 0 ? "no notifications" : $"notifications {delays.Length} (requests {requests}; {kinds}): delay p50 {P(0.5):F1} ms, p99 {P(0.99):F1} ms, max {delays[^1]:F1} ms");
});
Console.WriteLine("listening");
app.Run();
