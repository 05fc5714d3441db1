using System.Globalization;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>CPU time and resident memory of any process on this machine, from <c>/proc</c> (Linux): the harness
/// measures the processes it started (silos, Azurite, redis-server) the same way.</summary>
public static class ProcStat
{
    // USER_HZ: 100 on Linux for every mainstream architecture.
    private const double TicksPerSecond = 100;

    /// <summary>CPU seconds (user + system) used so far by process <paramref name="processId"/>, or 0 once it is gone.</summary>
    public static double CpuSeconds(int processId) => CpuSecondsOf($"/proc/{processId}/stat");

    /// <summary>CPU seconds from a <c>stat</c> file (a process's, or one thread's under <c>task/</c>), or 0 if unreadable.</summary>
    public static double CpuSecondsOf(string statPath)
    {
        try
        {
            // Fields after the command name (which is in parentheses and may hold spaces): utime is field 14, stime 15.
            var text = File.ReadAllText(statPath);
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return 0;
        }
    }

    /// <summary>The resident memory of process <paramref name="processId"/> in MiB (<c>VmRSS</c>), or 0.</summary>
    public static double ResidentMiB(int processId)
    {
        try
        {
            var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : Math.Round(double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024, 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 0;
        }
    }
}
