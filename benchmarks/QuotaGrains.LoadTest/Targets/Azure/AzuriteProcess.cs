using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace QuotaGrains.LoadTest.Targets.Azure;

/// <summary>
/// An Azurite the harness starts for a run: the npm package pinned in the repository's <c>package.json</c>
/// (<c>node_modules/.bin/azurite</c>, installed with <c>npm install</c> if absent), in memory, on free loopback ports,
/// with <c>--disableTelemetry --skipApiVersionCheck</c>; stopped (its own child, by id) afterwards. Its CPU is read
/// from <c>/proc/&lt;pid&gt;/stat</c> (the whole Node process) and <c>/proc/&lt;pid&gt;/task/&lt;pid&gt;/stat</c>
/// (the main thread, where Azurite's JavaScript runs: the single-threaded ceiling).
/// </summary>
public sealed class AzuriteProcess : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account key (public, not a secret).</summary>
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly double TicksPerSecond = ClockTicks();

    private readonly Process _process;

    private AzuriteProcess(Process process, int blobPort, int queuePort, int tablePort, string version, string? location)
    {
        _process = process;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        Version = version;
        Location = location;
    }

    public int ProcessId => _process.Id;

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    public string Version { get; }

    /// <summary>The data folder (<c>--location</c>), or null when the data is in memory.</summary>
    public string? Location { get; }

    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    public string Describe => $"Azurite {Version} (pid {ProcessId}, {(Location is null ? "in memory" : $"data in {Location}")}; blob 127.0.0.1:{BlobPort}, table 127.0.0.1:{TablePort})";

    /// <summary>The connection string of the same account through other endpoints (e.g. a proxy in front of it).</summary>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{queuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";

    /// <summary>Starts Azurite in memory, or with its data in <paramref name="location"/> (<c>--location</c>; created if
    /// absent) so that the data is on disk as with a long-lived emulator. With <paramref name="maxOpenFiles"/> it runs
    /// under <c>prlimit --nofile=N:N</c> (util-linux; it execs Azurite, so the process id is Azurite's).</summary>
    public static async Task<AzuriteProcess> StartAsync(Action<string> info, CancellationToken cancellationToken, string? location = null, int? maxOpenFiles = null)
    {
        var root = RepositoryRoot();
        var executable = Path.Combine(root, "node_modules", ".bin", "azurite");
        if (!File.Exists(executable))
        {
            info($"Azurite is not installed under {root}/node_modules: running npm install (the version pinned in package.json).");
            using var npm = Process.Start(new ProcessStartInfo("npm", "install --no-audit --no-fund") { WorkingDirectory = root, UseShellExecute = false })
                ?? throw new InvalidOperationException("npm did not start.");
            await npm.WaitForExitAsync(cancellationToken);
            if (npm.ExitCode != 0 || !File.Exists(executable))
            {
                throw new InvalidOperationException($"npm install failed ({npm.ExitCode}); Azurite is needed at {executable}.");
            }
        }

        var blob = LoopbackPorts.Free();
        var queue = LoopbackPorts.Free(blob);
        var table = LoopbackPorts.Free(blob, queue);
        var start = new ProcessStartInfo(maxOpenFiles is null ? executable : "prlimit")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        if (maxOpenFiles is { } limit)
        {
            start.ArgumentList.Add($"--nofile={limit}:{limit}");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(executable);
        }

        foreach (var argument in new[]
                 {
                     "--blobHost", "127.0.0.1", "--blobPort", Text(blob), "--queueHost", "127.0.0.1", "--queuePort", Text(queue),
                     "--tableHost", "127.0.0.1", "--tablePort", Text(table), "--disableTelemetry", "--skipApiVersionCheck", "--silent",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (location is null)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(location);
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(location);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var azurite = new AzuriteProcess(process, blob, queue, table, PinnedVersion(root), location);
        var deadline = Stopwatch.StartNew();
        foreach (var port in new[] { blob, queue, table })
        {
            while (!await AcceptsAsync(port, cancellationToken))
            {
                if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
                {
                    await azurite.DisposeAsync();
                    throw new InvalidOperationException($"Azurite is not listening on 127.0.0.1:{port} (exited: {process.HasExited}).");
                }

                await Task.Delay(50, cancellationToken);
            }
        }

        return azurite;
    }

    /// <summary>CPU seconds used so far by the whole process and by its main (JavaScript) thread; zeros once it exited.</summary>
    public (double Process, double MainThread) CpuSeconds()
    {
        return (Read($"/proc/{ProcessId}/stat"), Read($"/proc/{ProcessId}/task/{ProcessId}/stat"));

        static double Read(string path)
        {
            try
            {
                // Fields after the command name (which is in parentheses and may hold spaces): utime is field 14, stime 15.
                var text = File.ReadAllText(path);
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                return 0;
            }
        }
    }

    /// <summary>The resident memory of the process in MiB (from /proc/&lt;pid&gt;/status), or 0.</summary>
    public double ResidentMiB()
    {
        try
        {
            var line = File.ReadLines($"/proc/{ProcessId}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : Math.Round(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>The process's I/O counters from <c>/proc/&lt;pid&gt;/io</c>: bytes passed to read and write system calls
    /// (sockets and files alike) and bytes that reached or came from the disk; zeros if unreadable.</summary>
    public (long ReadChars, long WrittenChars, long DiskRead, long DiskWritten) IoCounters()
    {
        try
        {
            var values = File.ReadLines($"/proc/{ProcessId}/io")
                .Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2)
                .ToDictionary(parts => parts[0].Trim(), parts => long.Parse(parts[1].Trim(), CultureInfo.InvariantCulture), StringComparer.Ordinal);
            return (values.GetValueOrDefault("rchar"), values.GetValueOrDefault("wchar"), values.GetValueOrDefault("read_bytes"), values.GetValueOrDefault("write_bytes"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return default;
        }
    }

    /// <summary>The process's open file descriptors from <c>/proc/&lt;pid&gt;/fd</c>, and with <paramref name="classify"/>
    /// how many are sockets (a link read per descriptor: ~20,000 of them cost the harness a noticeable share of a core
    /// when read every second); zeros if unreadable. Node opens a file descriptor per extent it reads, and a process has
    /// at most <c>ulimit -n</c> of them, sockets included.</summary>
    public (int Total, int? Sockets) OpenFileDescriptors(bool classify)
    {
        var total = 0;
        var sockets = 0;
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{ProcessId}/fd"))
            {
                total++;
                if (!classify)
                {
                    continue;
                }

                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:", StringComparison.Ordinal))
                    {
                        sockets++;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Closed while we looked.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return (total, classify ? sockets : null);
    }

    /// <summary>The soft limit of open file descriptors of the process (<c>Max open files</c>), or null.</summary>
    public long? MaxOpenFiles()
    {
        try
        {
            var line = File.ReadLines($"/proc/{ProcessId}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?[14..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 0 } && long.TryParse(fields[0], CultureInfo.InvariantCulture, out var limit) ? limit : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Its data is throwaway (in memory, or in a folder its owner deletes).
    public async ValueTask DisposeAsync() => await ChildProcess.StopAsync(_process);

    public static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "QuotaGrains.sln")) && File.Exists(Path.Combine(dir.FullName, "package.json")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("The repository (QuotaGrains.sln and package.json) was not found above the harness or the current directory: Azurite is installed from its package.json.");
    }

    private static string PinnedVersion(string root)
    {
        try
        {
            var package = Path.Combine(root, "node_modules", "azurite", "package.json");
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(package));
            return json.RootElement.GetProperty("version").GetString() ?? "?";
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            return "?";
        }
    }

    private static double ClockTicks()
    {
        // USER_HZ is 100 on Linux for every mainstream architecture; getconf says so when it is present.
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            var text = getconf?.StandardOutput.ReadToEnd().Trim();
            getconf?.WaitForExit(2_000);
            return double.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var hz) && hz > 0 ? hz : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
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

/// <summary>Azurite's CPU over a window (the measured one): whole process and main thread, % of one core.</summary>
public sealed class AzuriteCpuWindow(AzuriteProcess azurite)
{
    private (double Process, double MainThread) _start;
    private long _startedAt;
    private (double Process, double MainThread)? _used;
    private double _seconds;

    public void Start()
    {
        _start = azurite.CpuSeconds();
        _startedAt = Stopwatch.GetTimestamp();
        _used = null;
    }

    public void Stop()
    {
        var end = azurite.CpuSeconds();
        _seconds = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        _used = (end.Process - _start.Process, end.MainThread - _start.MainThread);
    }

    /// <summary>Adds Azurite's figures to a target's diagnostics. The "server CPU" key is the one the compare
    /// table shows beside the harness's own CPU.</summary>
    public void Describe(IDictionary<string, string> values)
    {
        values["Azurite"] = azurite.Describe;
        if (_used is { } used && _seconds > 0)
        {
            values["server CPU (% of one core, measured window)"] = (used.Process / _seconds * 100).ToString("0.0", CultureInfo.InvariantCulture);
            values["Azurite main thread CPU (% of one core; its JavaScript is single-threaded)"] = (used.MainThread / _seconds * 100).ToString("0.0", CultureInfo.InvariantCulture);
        }

        values["Azurite RSS (MiB)"] = azurite.ResidentMiB().ToString("0", CultureInfo.InvariantCulture);
    }

    /// <summary>Main-thread CPU of the window in % of one core, or null before <see cref="Stop"/>.</summary>
    public double? MainThreadPercent => _used is { } used && _seconds > 0 ? used.MainThread / _seconds * 100 : null;
}
