using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using QuotaGrains.LoadTest.Options;

namespace QuotaGrains.LoadTest.Targets.Redis;

/// <summary>
/// A redis-server the harness starts for one run: bound to 127.0.0.1 on a free port, working in a temporary
/// directory, with the persistence asked for, and stopped (and its directory deleted) afterwards.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private RedisServerProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    public string Endpoint => $"127.0.0.1:{Port}";

    public static string Arguments(RedisPersistence persistence) => persistence switch
    {
        RedisPersistence.None => "--save '' --appendonly no",
        RedisPersistence.EverySec => "--save '' --appendonly yes --appendfsync everysec",
        RedisPersistence.Always => "--save '' --appendonly yes --appendfsync always",
        _ => throw new ArgumentOutOfRangeException(nameof(persistence)),
    };

    public static async Task<RedisServerProcess> StartAsync(string serverPath, RedisPersistence persistence, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("quota-loadtest-redis-").FullName;
        var port = LoopbackPorts.Next();
        var start = new ProcessStartInfo(serverPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--protected-mode", "yes", "--dir", directory, "--daemonize", "no", "--loglevel", "warning", "--save", "" })
        {
            start.ArgumentList.Add(argument);
        }

        switch (persistence)
        {
            case RedisPersistence.None:
                Add(start, "--appendonly", "no");
                break;
            case RedisPersistence.EverySec:
                Add(start, "--appendonly", "yes", "--appendfsync", "everysec");
                break;
            case RedisPersistence.Always:
                Add(start, "--appendonly", "yes", "--appendfsync", "always");
                break;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {serverPath}.");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException(
                $"Could not start '{serverPath}' ({exception.Message}). Install it (Debian: apt-get install -y redis-server), pass --redis-server PATH, or point --redis-endpoint at a running one.", exception);
        }

        // Drain its output so that it never blocks on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var server = new RedisServerProcess(process, directory, port);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"redis-server exited at start with code {process.ExitCode}.");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return server;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        await server.DisposeAsync();
        throw new TimeoutException("redis-server did not listen within 10 s.");
    }

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.StopAsync(_process);
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void Add(ProcessStartInfo start, params string[] arguments)
    {
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
    }
}
