using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>
/// The real engine host (<c>src/QuotaGrains.Silo</c>, built Release) as a separate process, as the storage tests start it
/// (<c>tests/QuotaGrains.Storage.Tests/Storage/SiloProcess.cs</c>): configuration through <c>Quota__…</c> environment variables,
/// ready once it prints "Ready.", killed with SIGKILL like a crashed server. Its output goes to a log file, and its
/// warnings and errors are counted by category and exception type.
/// </summary>
public sealed partial class SiloHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource<long> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, long> _levels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Count, string First)> _problems = new(StringComparer.Ordinal);
    private readonly List<string> _tail = [];
    private bool _killed;
    private bool _logClosed;

    private SiloHostProcess(Process process, long startedAt, int siloPort, int gatewayPort, string logPath)
    {
        _process = process;
        StartedAt = startedAt;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        LogPath = logPath;
        _log = new StreamWriter(logPath) { AutoFlush = false };
    }

    /// <summary>When <see cref="Process.Start()"/> was called (Stopwatch ticks).</summary>
    public long StartedAt { get; }

    public int ProcessId => _process.Id;

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public string LogPath { get; }

    /// <summary>Completes with the Stopwatch timestamp of the "Ready." line; fails if the process exits first.</summary>
    public Task<long> Ready => _ready.Task;

    public bool HasExited => _process.HasExited;

    /// <summary>Builds the silo (Release) unless told not to, and returns the path of its assembly. With
    /// <paramref name="readyToRun"/> it is published instead, precompiled (ReadyToRun, for this machine's runtime
    /// identifier) into <c>bin/Release/net10.0/ready-to-run</c>: a silo that has not run the engine's code yet (a survivor
    /// that joined just before a crash) then spends far less of its CPU compiling it.</summary>
    public static async Task<string> BuildAsync(bool build, Action<string> info, CancellationToken cancellationToken, bool readyToRun = false)
    {
        var root = RepositoryRoot.Find();
        var project = Path.Combine(root, "src", "QuotaGrains.Silo", "QuotaGrains.Silo.csproj");
        var output = Path.Combine(root, "src", "QuotaGrains.Silo", "bin", "Release", "net10.0");
        if (readyToRun)
        {
            output = Path.Combine(output, "ready-to-run");
        }

        var dll = Path.Combine(output, "QuotaGrains.Silo.dll");
        if (build)
        {
            info($"{(readyToRun ? "Publishing (ReadyToRun)" : "Building")} {project} (Release).");
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
            string[] arguments = readyToRun
                ? ["publish", project, "-c", "Release", "-r", RuntimeInformation.RuntimeIdentifier, "--self-contained", "false", "-p:PublishReadyToRun=true", "-o", output, "--nologo", "-v", "quiet"]
                : ["build", project, "-c", "Release", "--nologo", "-v", "quiet"];
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using var dotnet = Process.Start(start) ?? throw new InvalidOperationException("dotnet build did not start.");
            var standardOutput = dotnet.StandardOutput.ReadToEndAsync(cancellationToken);
            var errors = dotnet.StandardError.ReadToEndAsync(cancellationToken);
            await dotnet.WaitForExitAsync(cancellationToken);
            if (dotnet.ExitCode != 0)
            {
                throw new InvalidOperationException($"Building the silo failed ({dotnet.ExitCode}):\n{await standardOutput}\n{await errors}");
            }
        }

        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the silo first: dotnet build -c Release src/QuotaGrains.Silo", dll);
    }

    /// <summary>Starts <paramref name="siloDll"/> with Azure storage on <paramref name="connectionString"/>, fresh loopback
    /// ports, <paramref name="serviceId"/> and <paramref name="clusterId"/>, plus <paramref name="environment"/> (e.g.
    /// <c>Quota__Journal__SnapshotInterval</c>). The harness's own environment is inherited, so <c>Quota__…</c>
    /// variables set for the harness reach the silo too; <paramref name="environment"/> wins over them.</summary>
    public static SiloHostProcess Start(string siloDll, string connectionString, string serviceId, string clusterId,
        IReadOnlyDictionary<string, string> environment, string logPath)
    {
        var ports = LoopbackPorts.Take(2);
        var (siloPort, gatewayPort) = (ports[0], ports[1]);
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(siloDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(siloDll);
        info.Environment["Quota__Storage__Kind"] = "azure";
        info.Environment["Quota__Storage__ConnectionString"] = connectionString;
        info.Environment["Quota__Silo__SiloPort"] = siloPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["Quota__Silo__GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["Quota__Silo__HttpPort"] = LoopbackPorts.Next().ToString(CultureInfo.InvariantCulture); // health, metrics: a port of its own
        info.Environment["Quota__Silo__ServiceId"] = serviceId;
        info.Environment["Quota__Silo__ClusterId"] = clusterId;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var startedAt = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException("The silo did not start.");
        var silo = new SiloHostProcess(process, startedAt, siloPort, gatewayPort, logPath);
        process.OutputDataReceived += (_, e) => silo.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => silo.OnLine(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => silo._ready.TrySetException(new InvalidOperationException($"The silo exited ({silo.ExitText}) before it was ready; its log: {logPath}"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>CPU seconds the process used so far (user + system), or 0 once it is gone.</summary>
    public double CpuSeconds() => ProcStat.CpuSeconds(ProcessId);

    /// <summary>The resident memory of the process in MiB, or 0.</summary>
    public double ResidentMiB() => ProcStat.ResidentMiB(ProcessId);

    /// <summary>SIGTERM, as an operator or an orchestrator stops a silo: it leaves the cluster and deactivates its grains.
    /// Killed if it has not exited within <paramref name="grace"/>; true if it exited by itself.</summary>
    public async Task<bool> StopAsync(TimeSpan grace)
    {
        try
        {
            if (_process.HasExited)
            {
                return true;
            }

            using (var term = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", ProcessId.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false }))
            {
                await term!.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(grace);
            await _process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>SIGKILL (<see cref="Process.Kill()"/> on Linux): no deactivation, no snapshot, no flush of anything.</summary>
    public async Task KillAsync()
    {
        lock (_lock)
        {
            _killed = true;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
        }
    }

    /// <summary>Lines by level (info, warn, fail, …) and the warnings and errors grouped by category and exception
    /// types, each with its count and first line (shortened).</summary>
    public SiloLogSummary Summary()
    {
        lock (_lock)
        {
            if (!_logClosed)
            {
                _log.Flush();
            }

            return new SiloLogSummary(
                LogPath,
                new SortedDictionary<string, long>(_levels, StringComparer.Ordinal),
                _problems.OrderByDescending(p => p.Value.Count).Take(25).Select(p => new SiloLogProblem(p.Key, p.Value.Count, p.Value.First)).ToList(),
                _process.HasExited ? ExitText : null);
        }
    }

    /// <summary>Writes what the silo printed so far to <see cref="LogPath"/>, for a reader of that file.</summary>
    public void FlushLog()
    {
        lock (_lock)
        {
            if (!_logClosed)
            {
                _log.Flush();
            }
        }
    }

    /// <summary>The last lines it printed (for a silo that did not get ready).</summary>
    public string Tail()
    {
        lock (_lock)
        {
            return string.Join(Environment.NewLine, _tail);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        lock (_lock)
        {
            _log.Flush();
            _log.Dispose();
            _logClosed = true;
        }

        _process.Dispose();
    }

    private string ExitText
    {
        get
        {
            try
            {
                return _killed ? "killed with SIGKILL" : $"exit code {_process.ExitCode}";
            }
            catch (InvalidOperationException)
            {
                return "exited";
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (!_logClosed)
            {
                _log.WriteLine(line);
            }

            _tail.Add(line.Length > 400 ? line[..400] : line);
            if (_tail.Count > 40)
            {
                _tail.RemoveAt(0);
            }

            var match = LevelPattern().Match(line);
            if (match.Success)
            {
                var level = match.Groups["level"].Value;
                _levels[level] = _levels.GetValueOrDefault(level) + 1;
                if (level is "warn" or "fail" or "crit")
                {
                    var exceptions = ExceptionPattern().Matches(line).Select(m => m.Value).Distinct().Take(3);
                    var key = $"{level} {match.Groups["category"].Value}[{match.Groups["event"].Value}] {string.Join(" / ", exceptions)}".TrimEnd();
                    var first = _problems.TryGetValue(key, out var seen) ? seen.First : (line.Length > 600 ? line[..600] + "…" : line);
                    _problems[key] = (seen.Count + 1, first);
                }
            }
        }

        if (line.Contains("Ready.", StringComparison.Ordinal))
        {
            _ready.TrySetResult(now);
        }
    }

    // "09:05:22 info: Category[3] message" (SimpleConsole, single line, with a timestamp).
    [GeneratedRegex(@"^(?:\d\d:\d\d:\d\d )?(?<level>trce|dbug|info|warn|fail|crit): (?<category>[^\[]+)\[(?<event>\d+)\]")]
    private static partial Regex LevelPattern();

    [GeneratedRegex(@"\b[A-Z][A-Za-z]*Exception\b")]
    private static partial Regex ExceptionPattern();
}

/// <summary>What a silo printed: lines by level, the commonest warnings and errors.</summary>
public sealed record SiloLogSummary(string LogPath, IReadOnlyDictionary<string, long> LinesByLevel, IReadOnlyList<SiloLogProblem> Problems, string? Exit);

/// <summary>Warnings or errors of one category and exception types: how many, and the first one.</summary>
public sealed record SiloLogProblem(string Key, long Count, string First);
