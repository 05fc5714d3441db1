using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using QuotaGrains.Client;

namespace QuotaGrains.ClientProbe;

/// <summary>
/// Runs commands as they arrive, each on its own (a line: <c>tag command args…</c>), and writes one JSON line per
/// outcome: <c>{"tag", "ok", "type", "inner", "message", "startedAt", "endedAt", "value"}</c> (times in Unix ms,
/// exception types by full name). <c>grain-*</c> commands call the grains directly, as a dashboard would; the others
/// go through <see cref="IQuotaClient"/>, as a generation server does.
/// </summary>
internal sealed class Probe(IQuotaClient quota, IGrainFactory grains)
{
    private static readonly GenerationSpec Recolor = new("recolor");
    private readonly ConcurrentDictionary<string, QuotaHold> _holds = new(StringComparer.Ordinal);
    private readonly Lock _output = new();
    private TextWriter _out = TextWriter.Null;

    public async Task RunAsync(TextReader input, TextWriter output)
    {
        _out = output;
        var running = new List<Task>();
        while (await input.ReadLineAsync() is { } line)
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words is [_, "exit"])
            {
                break;
            }

            if (words.Length >= 2)
            {
                running.Add(Task.Run(() => RunAsync(words[0], words[1], words[2..])));
            }
        }

        await Task.WhenAll(running);
    }

    private Task RunAsync(string tag, string command, string[] a) => command switch
    {
        "create" => Report(tag, async () => Value(await quota.CreateSpaceAsync(a[0], new CreateSpaceRequest(a[2], a[1], PlanTier.Enterprise, CustomAllowance: 1_000_000)))),
        "add-member" => Report(tag, async () => Value(await quota.AddMemberAsync(a[0], new AddMemberRequest(a[3], a[1], a[2], SpaceRole.Member)))),
        "reserve" => Report(tag, async () => Value(_holds[a[2]] = await quota.ReserveAsync(a[0], a[1], Recolor, operationId: a[2]))),
        "commit" => Report(tag, async () => Value(await _holds[a[0]].CommitAsync())),
        "balance" => Report(tag, async () => Value(await quota.GetBalanceAsync(a[0]))),
        "ledger" => Report(tag, async () => new { entries = (await quota.GetLedgerAsync(a[0], new LedgerQuery())).Entries.Count }),
        "spaces" => Report(tag, async () => new { count = (await quota.GetUserSpacesAsync(a[0])).Count }),
        "grain-reserve" => Report(tag, async () => Value(await grains.GetGrain<IUserGrain>(a[0]).ReserveAsync(a[1], new ReserveRequest(a[2], Recolor)))),
        "grain-balance" => Report(tag, async () => Value(await grains.GetGrain<ISpaceGrain>(a[0]).GetBalanceAsync())),
        "grain-ledger" => Report(tag, async () => new { entries = (await grains.GetGrain<ISpaceGrain>(a[0]).GetLedgerAsync(new LedgerQuery())).Entries.Count }),
        "grain-spaces" => Report(tag, async () => new { count = (await grains.GetGrain<IUserGrain>(a[0]).GetSpacesAsync()).Count }),
        "load" => LoadAsync(tag, int.Parse(a[0]), a[1], a[2].Split(','), TimeSpan.FromSeconds(double.Parse(a[3]))),
        _ => Report(tag, () => throw new ArgumentException($"Unknown command '{command}'.")),
    };

    /// <summary><paramref name="workers"/> loops of reserves (operation ids <c>tag-worker-n</c>, holds left open), each
    /// until its first failure or until <paramref name="duration"/> is over; a line once every worker has been answered
    /// once, then one line per worker for its last call.</summary>
    private async Task LoadAsync(string tag, int workers, string spaceId, string[] users, TimeSpan duration)
    {
        var answered = 0;
        var deadline = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(worker => Task.Run(async () =>
        {
            for (var n = 0; ; n++)
            {
                var started = DateTimeOffset.UtcNow;
                try
                {
                    // Not disposed (which would refund): each worker always has a reserve in flight.
                    await quota.ReserveAsync(users[worker % users.Length], spaceId, Recolor, operationId: $"{tag}-{worker}-{n}");
                    if (n == 0 && Interlocked.Increment(ref answered) == workers)
                    {
                        Write(new { tag, @event = "running" });
                    }

                    if (deadline.Elapsed > duration)
                    {
                        Write(Outcome($"{tag}/{worker}", started, null, new { calls = n + 1 }));
                        return;
                    }
                }
                catch (Exception exception)
                {
                    Write(Outcome($"{tag}/{worker}", started, exception, new { calls = n + 1 }));
                    return;
                }
            }
        })));
    }

    private async Task Report(string tag, Func<Task<object?>> call)
    {
        var started = DateTimeOffset.UtcNow;
        try
        {
            var value = await call();
            Write(Outcome(tag, started, null, value));
        }
        catch (Exception exception)
        {
            Write(Outcome(tag, started, exception, null));
        }
    }

    private static object Outcome(string tag, DateTimeOffset started, Exception? exception, object? value) => new
    {
        tag,
        ok = exception is null,
        type = exception?.GetType().FullName,
        inner = exception?.InnerException?.GetType().FullName,
        message = exception?.Message,
        startedAt = started.ToUnixTimeMilliseconds(),
        endedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        value,
    };

    private static object? Value(object? result) => result switch
    {
        QuotaHold hold => new { holdId = hold.HoldId, credits = hold.Credits, succeeded = hold.Succeeded, replayed = hold.Reservation.Replayed, rejection = hold.Rejection?.Code.ToString() },
        OperationResult operation => new { succeeded = operation.Succeeded, replayed = operation.Replayed, rejection = operation.Rejection?.Code.ToString() },
        SpaceBalance balance => new { used = balance.Used, held = balance.Held, openHolds = balance.OpenHolds },
        _ => result,
    };

    private void Write(object line)
    {
        var json = JsonSerializer.Serialize(line);
        lock (_output)
        {
            _out.WriteLine(json);
            _out.Flush();
        }
    }
}
