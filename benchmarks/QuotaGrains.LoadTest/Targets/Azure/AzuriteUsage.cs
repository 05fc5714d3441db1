using System.Diagnostics;
using System.Globalization;

namespace QuotaGrains.LoadTest.Targets.Azure;

/// <summary>
/// What the harness measures of the Azurite it started (<see cref="Azurite"/>, shared with the tests): its CPU from
/// <c>/proc/&lt;pid&gt;/stat</c> (the whole Node process) and <c>/proc/&lt;pid&gt;/task/&lt;pid&gt;/stat</c> (the main
/// thread, where Azurite's JavaScript runs: the single-threaded ceiling), memory, I/O and open files.
/// </summary>
public static class AzuriteUsage
{
    /// <summary>CPU seconds used so far by the whole process and by its main (JavaScript) thread; zeros once it exited.</summary>
    public static (double Process, double MainThread) CpuSeconds(this Azurite azurite)
    {
        return (ProcStat.CpuSecondsOf($"/proc/{azurite.ProcessId}/stat"), ProcStat.CpuSecondsOf($"/proc/{azurite.ProcessId}/task/{azurite.ProcessId}/stat"));
    }

    /// <summary>The resident memory of the process in MiB (from /proc/&lt;pid&gt;/status), or 0.</summary>
    public static double ResidentMiB(this Azurite azurite) => ProcStat.ResidentMiB(azurite.ProcessId);

    /// <summary>The process's I/O counters from <c>/proc/&lt;pid&gt;/io</c>: bytes passed to read and write system calls
    /// (sockets and files alike) and bytes that reached or came from the disk; zeros if unreadable.</summary>
    public static (long ReadChars, long WrittenChars, long DiskRead, long DiskWritten) IoCounters(this Azurite azurite)
    {
        try
        {
            var values = File.ReadLines($"/proc/{azurite.ProcessId}/io")
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
    public static (int Total, int? Sockets) OpenFileDescriptors(this Azurite azurite, bool classify)
    {
        var total = 0;
        var sockets = 0;
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{azurite.ProcessId}/fd"))
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
    public static long? MaxOpenFiles(this Azurite azurite)
    {
        try
        {
            var line = File.ReadLines($"/proc/{azurite.ProcessId}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?[14..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 0 } && long.TryParse(fields[0], CultureInfo.InvariantCulture, out var limit) ? limit : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>Azurite's CPU over a window (the measured one): whole process and main thread, % of one core.</summary>
public sealed class AzuriteCpuWindow(Azurite azurite)
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
