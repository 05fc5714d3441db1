using System.Diagnostics;

namespace QuotaGrains.Client;

/// <summary>
/// Whether this process has been using nearly all of its processors: sampled every 100 ms (one timer per process),
/// so the answer is an average over the last window, not the burst of the moment.
/// </summary>
internal static class ProcessCpu
{
    /// <summary>Busy: at least this share of every processor over the last window.</summary>
    public const double BusyShare = 0.85;

    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);
    private static readonly Lock Gate = new();
    private static Timer? s_timer;
    private static TimeSpan s_lastCpu;
    private static long s_lastAt;
    private static volatile bool s_busy;

    public static bool Busy
    {
        get
        {
            EnsureSampling();
            return s_busy;
        }
    }

    private static void EnsureSampling()
    {
        if (s_timer is not null)
        {
            return;
        }

        lock (Gate)
        {
            if (s_timer is null)
            {
                s_lastCpu = ProcessorTime();
                s_lastAt = Stopwatch.GetTimestamp();
                s_timer = new Timer(static _ => Sample(), null, Window, Window);
            }
        }
    }

    private static void Sample()
    {
        var cpu = ProcessorTime();
        var now = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(s_lastAt, now);
        if (elapsed > TimeSpan.Zero)
        {
            s_busy = (cpu - s_lastCpu) / elapsed >= BusyShare * Environment.ProcessorCount;
        }

        (s_lastCpu, s_lastAt) = (cpu, now);
    }

    private static TimeSpan ProcessorTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }
}
