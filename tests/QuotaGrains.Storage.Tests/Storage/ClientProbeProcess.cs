using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// <c>tests/QuotaGrains.ClientProbe</c> as a process of its own: a client with the engine's client library and the
/// Orleans client only, no Azure assembly, as a generation server is. Commands go to its standard input, one JSON line
/// per outcome comes back (<see cref="ProbeOutcome"/>).
/// </summary>
public sealed class ClientProbeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement>> _lines = new(StringComparer.Ordinal);
    private readonly List<string> _errors = [];
    private int _next;

    private ClientProbeProcess(Process process) => _process = process;

    /// <summary>The probe built beside these tests, in the same configuration.</summary>
    public static string OutputDirectory
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepositoryRoot.Find(), "tests", "QuotaGrains.ClientProbe", "bin", configuration, "net10.0");
        }
    }

    /// <summary>What the probe wrote on its standard error (its warnings and errors).</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join(Environment.NewLine, _errors);
            }
        }
    }

    /// <summary>Starts the probe against a silo's gateway; <paramref name="environment"/> adds variables (e.g.
    /// <c>Quota__Client__MaxAttempts</c>).</summary>
    public static ClientProbeProcess Start(int gatewayPort, string serviceId, string clusterId, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(OutputDirectory, "QuotaGrains.ClientProbe.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build the probe first.", dll);
        }

        var info = new ProcessStartInfo("dotnet", $"\"{dll}\" {gatewayPort} {serviceId} {clusterId}")
        {
            WorkingDirectory = OutputDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var probe = new ClientProbeProcess(Process.Start(info) ?? throw new InvalidOperationException("The probe did not start."));
        probe._process.OutputDataReceived += (_, e) => probe.OnLine(e.Data);
        probe._process.ErrorDataReceived += (_, e) => probe.OnError(e.Data);
        probe._process.BeginOutputReadLine();
        probe._process.BeginErrorReadLine();
        return probe;
    }

    /// <summary>Sends <paramref name="command"/> under a new tag and returns the tag.</summary>
    public string Send(string command)
    {
        var tag = $"t{Interlocked.Increment(ref _next)}";
        Send(tag, command);
        return tag;
    }

    public void Send(string tag, string command)
    {
        lock (_process)
        {
            _process.StandardInput.WriteLine($"{tag} {command}");
            _process.StandardInput.Flush();
        }
    }

    /// <summary>The outcome line of <paramref name="tag"/>.</summary>
    public async Task<ProbeOutcome> OutcomeAsync(string tag, TimeSpan timeout) => ProbeOutcome.From(await LineAsync(tag, timeout));

    /// <summary>Sends <paramref name="command"/> and waits for its outcome.</summary>
    public Task<ProbeOutcome> RunAsync(string command, TimeSpan timeout) => OutcomeAsync(Send(command), timeout);

    /// <summary>Any line the probe wrote with this tag (an outcome, or an event such as a load's <c>running</c>).</summary>
    public async Task<JsonElement> LineAsync(string tag, TimeSpan timeout)
    {
        try
        {
            return await Waiter(tag).Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The probe wrote nothing for '{tag}' in {timeout} (exited: {_process.HasExited}).\n{Errors}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private TaskCompletionSource<JsonElement> Waiter(string tag) =>
        _lines.GetOrAdd(tag, _ => new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously));

    private void OnLine(string? line)
    {
        if (line is not { Length: > 0 } || line[0] != '{')
        {
            return;
        }

        var json = JsonDocument.Parse(line).RootElement.Clone();
        var tag = json.GetProperty("tag").GetString()!;
        Waiter(json.TryGetProperty("event", out var e) ? $"{tag}:{e.GetString()}" : tag).TrySetResult(json);
    }

    private void OnError(string? line)
    {
        if (line is not null)
        {
            lock (_errors)
            {
                _errors.Add(line);
            }
        }
    }
}

/// <summary>One outcome of a probe command: its exception's type (full name) and inner exception's type when it failed,
/// and when it started and ended (Unix ms, this machine's clock).</summary>
public sealed record ProbeOutcome(string Tag, bool Ok, string? Type, string? Inner, string? Message, long StartedAt, long EndedAt, JsonElement Value)
{
    public static ProbeOutcome From(JsonElement line) => new(
        line.GetProperty("tag").GetString()!,
        line.GetProperty("ok").GetBoolean(),
        line.GetProperty("type").GetString(),
        line.GetProperty("inner").GetString(),
        line.GetProperty("message").GetString(),
        line.GetProperty("startedAt").GetInt64(),
        line.GetProperty("endedAt").GetInt64(),
        line.GetProperty("value"));

    public long Long(string property) => Value.GetProperty(property).GetInt64();

    public bool Bool(string property) => Value.GetProperty(property).GetBoolean();

    public override string ToString() => Ok ? $"{Tag}: ok {Value}" : $"{Tag}: {Type} (inner {Inner ?? "none"}): {Message}";
}
