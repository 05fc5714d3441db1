using System.Diagnostics;
using QuotaGrains.LoadTest.Reporting;
using QuotaGrains.LoadTest.Targets;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>The CPU each of the target's processes used over the measured window, from <c>/proc</c>, and their
/// resident memory at its end: on a machine they share, one process's CPU is the others' wait.</summary>
public sealed class ServerProcessMeter(IReadOnlyList<ServerProcess> processes)
{
    private double[] _start = [];
    private long _startedAt;

    public void Start()
    {
        _start = processes.Select(p => ProcStat.CpuSeconds(p.ProcessId)).ToArray();
        _startedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>One row per process; <paramref name="requests"/> measured requests give CPU per request.</summary>
    public IReadOnlyList<ProcessUsage> Stop(long requests)
    {
        var seconds = Math.Max(Stopwatch.GetElapsedTime(_startedAt).TotalSeconds, 1e-9);
        return processes.Select((p, i) =>
        {
            var cpu = Math.Max(ProcStat.CpuSeconds(p.ProcessId) - _start[i], 0);
            return new ProcessUsage(p.Role, p.ProcessId, Math.Round(cpu / seconds * 100, 1),
                requests > 0 ? Math.Round(cpu * 1e6 / requests, 2) : 0, ProcStat.ResidentMiB(p.ProcessId));
        }).ToList();
    }
}
