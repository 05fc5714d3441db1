using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace QuotaGrains.Tests.Storage;

/// <summary>The real engine host (<c>QuotaGrains.Silo</c>) as a separate process, so that it can be killed with
/// SIGKILL like a crashed server.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    /// <summary>The cluster id every silo process runs with (a client needs it to connect).</summary>
    public const string ClusterId = "kill-test";

    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];

    private SiloProcess(Process process, int gatewayPort)
    {
        _process = process;
        GatewayPort = gatewayPort;
    }

    public int GatewayPort { get; }

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

    /// <summary>Starts the silo with Azure storage on <paramref name="connectionString"/> and waits until it is ready.</summary>
    public static async Task<SiloProcess> StartAsync(string connectionString, string serviceId)
    {
        var siloDll = SiloAssemblyPath();
        var gatewayPort = FreePort();
        var info = new ProcessStartInfo("dotnet", $"\"{siloDll}\"")
        {
            WorkingDirectory = Path.GetDirectoryName(siloDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["Quota__Storage__Kind"] = "azure";
        info.Environment["Quota__Storage__ConnectionString"] = connectionString;
        info.Environment["Quota__Silo__SiloPort"] = FreePort().ToString();
        info.Environment["Quota__Silo__GatewayPort"] = gatewayPort.ToString();
        info.Environment["Quota__Silo__ServiceId"] = serviceId;
        info.Environment["Quota__Silo__ClusterId"] = ClusterId;
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";

        var process = Process.Start(info) ?? throw new InvalidOperationException("The silo did not start.");
        var silo = new SiloProcess(process, gatewayPort);
        process.OutputDataReceived += (_, e) => silo.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => silo.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => silo._ready.TrySetException(new InvalidOperationException("The silo exited before it was ready:\n" + silo.Output));

        await silo._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return silo;
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

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
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
        }

        if (line.Contains("Ready.", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    /// <summary>The silo built beside these tests, in the same configuration.</summary>
    private static string SiloAssemblyPath()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(Azurite.RepositoryRoot(), "src", "QuotaGrains.Silo", "bin", configuration, "net10.0", "QuotaGrains.Silo.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build the silo first.", path);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
