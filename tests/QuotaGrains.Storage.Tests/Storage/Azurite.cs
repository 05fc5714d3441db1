using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace QuotaGrains.Tests.Storage;

/// <summary>
/// A real Azurite (the npm package pinned in the repository's package.json) on free loopback ports. Installs the
/// package with npm if it is absent. With a data folder, it can be stopped and started again on the same ports
/// and data, as an outage would.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly string? _location;
    private readonly bool _ownsLocation;
    private Process? _process;

    private Azurite(string? location, bool ownsLocation = false)
    {
        _location = location;
        _ownsLocation = ownsLocation;
        var ports = LoopbackPorts.Take(3);
        (BlobPort, QueuePort, TablePort) = (ports[0], ports[1], ports[2]);
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts Azurite; in memory unless <paramref name="location"/> names a data folder.</summary>
    public static async Task<Azurite> StartAsync(string? location = null)
    {
        var azurite = new Azurite(location);
        await azurite.StartAsync();
        return azurite;
    }

    /// <summary>Starts Azurite on a data folder of its own, which survives <see cref="StopAsync"/> (an outage) and is
    /// deleted on dispose.</summary>
    public static async Task<Azurite> StartOnDiskAsync()
    {
        var azurite = new Azurite(Path.Combine(Path.GetTempPath(), $"azurite-{Guid.NewGuid():N}"), ownsLocation: true);
        await azurite.StartAsync();
        return azurite;
    }

    public async Task StartAsync()
    {
        var executable = await EnsureInstalledAsync();
        var storage = _location is null ? "--inMemoryPersistence" : $"--location \"{_location}\"";
        var info = new ProcessStartInfo(executable,
            $"--blobHost 127.0.0.1 --blobPort {BlobPort} --queueHost 127.0.0.1 --queuePort {QueuePort} " +
            $"--tableHost 127.0.0.1 --tablePort {TablePort} {storage} --disableTelemetry --skipApiVersionCheck --silent")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(info) ?? throw new InvalidOperationException("Azurite did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await AcceptsAsync(port))
            {
                if (_process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"Azurite is not listening on 127.0.0.1:{port} (exited: {_process.HasExited}).");
                }

                await Task.Delay(50);
            }
        }
    }

    /// <summary>Stops Azurite (its data folder, if any, stays for the next start). It is asked to stop with SIGTERM,
    /// as an operator would: Azurite saves its metadata on the way out (a SIGKILL can lose recent writes).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using (var term = Process.Start(new ProcessStartInfo("kill", $"-TERM {process.Id}") { UseShellExecute = false }))
            {
                await term!.WaitForExitAsync();
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        _process?.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsLocation && Directory.Exists(_location))
        {
            Directory.Delete(_location, recursive: true);
        }
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QuotaGrains.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("QuotaGrains.sln not found above the test binaries.");
    }

    private static async Task<string> EnsureInstalledAsync()
    {
        var root = RepositoryRoot();
        var executable = Path.Combine(root, "node_modules", ".bin", "azurite");
        await InstallLock.WaitAsync();
        try
        {
            if (!File.Exists(executable))
            {
                var npm = Process.Start(new ProcessStartInfo("npm", "install --no-audit --no-fund") { WorkingDirectory = root, UseShellExecute = false })
                    ?? throw new InvalidOperationException("npm did not start.");
                await npm.WaitForExitAsync();
                if (npm.ExitCode != 0 || !File.Exists(executable))
                {
                    throw new InvalidOperationException($"npm install failed ({npm.ExitCode}); Azurite is needed at {executable}.");
                }
            }
        }
        finally
        {
            InstallLock.Release();
        }

        return executable;
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
