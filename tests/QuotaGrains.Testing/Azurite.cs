using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace QuotaGrains.Testing;

/// <summary>
/// A real Azurite (the npm package pinned in the repository's package.json, <c>node_modules/.bin/azurite</c>,
/// installed with <c>npm install</c> if absent) on free loopback ports, with <c>--disableTelemetry
/// --skipApiVersionCheck</c>. In memory, or with a data folder: then it can be stopped and started again on the same
/// ports and data, as an outage would. Disposing it stops it (our own child, by its id) and deletes a data folder it
/// made.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account key (public, not a secret).</summary>
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly bool _ownsLocation;
    private readonly int? _maxOpenFiles;
    private Process? _process;

    private Azurite(string? location, bool ownsLocation, int? maxOpenFiles)
    {
        Location = location;
        _ownsLocation = ownsLocation;
        _maxOpenFiles = maxOpenFiles;
        var ports = LoopbackPorts.Take(3);
        (BlobPort, QueuePort, TablePort) = (ports[0], ports[1], ports[2]);
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    /// <summary>The data folder (<c>--location</c>), or null when the data is in memory.</summary>
    public string? Location { get; }

    /// <summary>The version installed (from its package.json), or "?".</summary>
    public string Version { get; private set; } = "?";

    /// <summary>The running process's id, or 0 when stopped.</summary>
    public int ProcessId => _process?.Id ?? 0;

    public bool IsRunning => _process is { HasExited: false };

    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    public string Describe =>
        $"Azurite {Version} (pid {ProcessId}, {(Location is null ? "in memory" : $"data in {Location}")}; blob 127.0.0.1:{BlobPort}, table 127.0.0.1:{TablePort})";

    /// <summary>The connection string of the same account through other endpoints (e.g. a proxy in front of it).</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";

    /// <summary>Starts Azurite in memory, or with its data in <paramref name="location"/> (created if absent; the caller
    /// owns it). With <paramref name="maxOpenFiles"/> it runs under <c>prlimit --nofile=N:N</c> (util-linux; it execs
    /// Azurite, so the process id is Azurite's). <paramref name="info"/> hears of an npm install.</summary>
    public static async Task<Azurite> StartAsync(string? location = null, int? maxOpenFiles = null, Action<string>? info = null, CancellationToken cancellationToken = default)
    {
        var azurite = new Azurite(location, ownsLocation: false, maxOpenFiles);
        await azurite.StartProcessAsync(info, cancellationToken);
        return azurite;
    }

    /// <summary>Starts Azurite on a data folder of its own under the temporary folder, which survives
    /// <see cref="StopAsync"/> (an outage) and is deleted on dispose.</summary>
    public static async Task<Azurite> StartOnDiskAsync(CancellationToken cancellationToken = default)
    {
        var azurite = new Azurite(Path.Combine(Path.GetTempPath(), $"azurite-{Guid.NewGuid():N}"), ownsLocation: true, maxOpenFiles: null);
        await azurite.StartProcessAsync(info: null, cancellationToken);
        return azurite;
    }

    /// <summary>Starts it again after <see cref="StopAsync"/>, on the same ports and data folder.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(info: null, cancellationToken);

    /// <summary>Stops Azurite (its data folder, if any, stays for the next start). It is asked to stop with SIGTERM,
    /// as an operator would: Azurite saves its metadata on the way out (a SIGKILL can lose recent writes). It is
    /// killed if it has not exited within 10 s.</summary>
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
        if (_ownsLocation && Directory.Exists(Location))
        {
            Directory.Delete(Location, recursive: true);
        }
    }

    private async Task StartProcessAsync(Action<string>? info, CancellationToken cancellationToken)
    {
        var root = RepositoryRoot.Find();
        var executable = await EnsureInstalledAsync(root, info, cancellationToken);
        Version = InstalledVersion(root);
        var start = new ProcessStartInfo(_maxOpenFiles is null ? executable : "prlimit")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // Whatever it writes beside its data (in memory: nothing) stays out of the caller's folder.
            WorkingDirectory = Path.GetTempPath(),
        };
        if (_maxOpenFiles is { } limit)
        {
            Add(start, $"--nofile={limit}:{limit}", "--", executable);
        }

        Add(start,
            "--blobHost", "127.0.0.1", "--blobPort", Text(BlobPort), "--queueHost", "127.0.0.1", "--queuePort", Text(QueuePort),
            "--tableHost", "127.0.0.1", "--tablePort", Text(TablePort), "--disableTelemetry", "--skipApiVersionCheck", "--silent");
        if (Location is null)
        {
            Add(start, "--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(Location);
            Add(start, "--location", Location);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        _process = process;
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);

        var deadline = Stopwatch.StartNew();
        foreach (var port in new[] { BlobPort, QueuePort, TablePort })
        {
            while (!await AcceptsAsync(port, cancellationToken))
            {
                if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
                {
                    var exited = process.HasExited;
                    await StopAsync();
                    throw new InvalidOperationException($"Azurite is not listening on 127.0.0.1:{port} (exited: {exited}).");
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private static async Task<string> EnsureInstalledAsync(string root, Action<string>? info, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(root, "node_modules", ".bin", "azurite");
        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (!File.Exists(executable))
            {
                info?.Invoke($"Azurite is not installed under {root}/node_modules: running npm install (the version pinned in package.json).");
                using var npm = Process.Start(new ProcessStartInfo("npm", "install --no-audit --no-fund") { WorkingDirectory = root, UseShellExecute = false })
                    ?? throw new InvalidOperationException("npm did not start.");
                await npm.WaitForExitAsync(cancellationToken);
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

    private static string InstalledVersion(string root)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "node_modules", "azurite", "package.json")));
            return json.RootElement.GetProperty("version").GetString() ?? "?";
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException)
        {
            return "?";
        }
    }

    private static void Add(ProcessStartInfo start, params string[] arguments)
    {
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
