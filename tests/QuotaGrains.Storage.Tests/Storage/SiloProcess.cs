using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace QuotaGrains.Tests.Storage;

/// <summary>The real engine host (<c>QuotaGrains.Silo</c>) as a separate process, so that it can be killed with
/// SIGKILL like a crashed server, or run until it exits by itself.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    /// <summary>The cluster id every silo process runs with (a client needs it to connect).</summary>
    public const string ClusterId = "process-test";

    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];
    private readonly List<(string Text, TaskCompletionSource Seen)> _watches = [];

    private SiloProcess(Process process, int siloPort, int gatewayPort)
    {
        _process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
    }

    /// <summary>The port silos reach this one at: what its <c>SiloAddress</c> in the membership shows.</summary>
    public int SiloPort { get; }

    public int GatewayPort { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output);
            }
        }
    }

    /// <summary>Starts the silo with Azure storage on <paramref name="connectionString"/> and waits until it is ready;
    /// <paramref name="settings"/> are more configuration keys (e.g. <c>Quota:Journal:SnapshotInterval</c>).</summary>
    public static async Task<SiloProcess> StartAsync(string connectionString, string serviceId, IReadOnlyDictionary<string, string>? settings = null)
    {
        var (siloPort, gatewayPort) = (LoopbackPorts.Next(), LoopbackPorts.Next());
        var environment = new Dictionary<string, string>
        {
            ["Quota__Storage__Kind"] = "azure",
            ["Quota__Storage__ConnectionString"] = connectionString,
            ["Quota__Silo__ServiceId"] = serviceId,
            ["Quota__Silo__ClusterId"] = ClusterId,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var info = StartInfo(siloPort, gatewayPort, environment);

        var process = Process.Start(info) ?? throw new InvalidOperationException("The silo did not start.");
        var silo = new SiloProcess(process, siloPort, gatewayPort);
        process.OutputDataReceived += (_, e) => silo.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => silo.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => silo._ready.TrySetException(new InvalidOperationException("The silo exited before it was ready:\n" + silo.Output));

        await silo._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return silo;
    }

    /// <summary>An Orleans client host connected to this silo's gateway. Calls in flight when the silo dies end after
    /// 5 s instead of Orleans' default 30 s.</summary>
    public async Task<IHost> ConnectClientAsync(string serviceId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(new IPEndPoint(IPAddress.Loopback, GatewayPort))
            .Configure<ClusterOptions>(o =>
            {
                o.ServiceId = serviceId;
                o.ClusterId = ClusterId;
            })
            .Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5)));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Runs the silo with <paramref name="environment"/> (and free ports) until it exits by itself, at most
    /// <paramref name="timeout"/> (then it is killed and this throws): its exit code, standard output and standard error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunToExitAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        using var process = Process.Start(StartInfo(LoopbackPorts.Next(), LoopbackPorts.Next(), environment)) ?? throw new InvalidOperationException("The silo did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"The silo did not exit within {timeout}:\n{await output}\n{await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>SIGKILL: no deactivation, no snapshot, no flush of anything.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM, as an orchestrator stops a server: the .NET host stops, which runs Orleans' graceful
    /// shutdown (the silo leaves the membership, its grains deactivate). Waits for the exit (at most
    /// <paramref name="timeout"/>, then SIGKILL and this throws) and returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            await SignalAsync("TERM");
            try
            {
                await _process.WaitForExitAsync().WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                await KillAsync();
                throw new TimeoutException($"The silo did not stop within {timeout} of SIGTERM:\n{Output}");
            }
        }

        return _process.ExitCode;
    }

    /// <summary>SIGSTOP: the process is frozen (no thread runs, its sockets stay open), as a host gone silent.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT: a paused process runs on from where it was.</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    /// <summary>Sends SIG<paramref name="signal"/> with <c>kill</c>: .NET sends only SIGKILL by itself.</summary>
    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {_process.Id}") { UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start.");
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {_process.Id} exited with {kill.ExitCode}.");
        }
    }

    /// <summary>Completes when a line of the silo's output contains <paramref name="text"/> (one seen already counts);
    /// throws after <paramref name="within"/>, which only bounds a hang.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan within)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            if (_output.Exists(l => l.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }

            _watches.Add((text, seen));
        }

        try
        {
            await seen.Task.WaitAsync(within);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"The silo did not write '{text}' within {within}:\n{Output}");
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
            foreach (var (text, seen) in _watches.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                seen.TrySetResult();
                _watches.Remove((text, seen));
            }
        }

        if (line.Contains("Ready.", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    /// <summary>The silo built beside these tests on <paramref name="siloPort"/> and <paramref name="gatewayPort"/>,
    /// output redirected, with <paramref name="environment"/> as its settings.</summary>
    private static ProcessStartInfo StartInfo(int siloPort, int gatewayPort, IReadOnlyDictionary<string, string> environment)
    {
        var siloDll = SiloAssemblyPath();
        var info = new ProcessStartInfo("dotnet", $"\"{siloDll}\"")
        {
            WorkingDirectory = Path.GetDirectoryName(siloDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["Quota__Silo__SiloPort"] = siloPort.ToString();
        info.Environment["Quota__Silo__GatewayPort"] = gatewayPort.ToString();
        info.Environment["Quota__Silo__HttpPort"] = LoopbackPorts.Next().ToString(); // health, metrics: a port of its own
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return info;
    }

    /// <summary>The silo built beside these tests, in the same configuration.</summary>
    private static string SiloAssemblyPath()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(RepositoryRoot.Find(), "src", "QuotaGrains.Silo", "bin", configuration, "net10.0", "QuotaGrains.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the silo first.", path);
    }
}
