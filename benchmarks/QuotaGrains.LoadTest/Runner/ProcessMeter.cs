using System.Diagnostics;
using QuotaGrains.LoadTest.Reporting;

namespace QuotaGrains.LoadTest.Runner;

/// <summary>Snapshots this process's CPU time, allocations and collections at the start and end of measuring.</summary>
public sealed class ProcessMeter
{
    private TimeSpan _cpu;
    private long _allocated;
    private int _gen0;
    private int _gen1;
    private int _gen2;
    private TimeSpan _pause;
    private long _started;

    public void Start()
    {
        using var process = Process.GetCurrentProcess();
        _cpu = process.TotalProcessorTime;
        _allocated = GC.GetTotalAllocatedBytes();
        _gen0 = GC.CollectionCount(0);
        _gen1 = GC.CollectionCount(1);
        _gen2 = GC.CollectionCount(2);
        _pause = GC.GetTotalPauseDuration();
        _started = Stopwatch.GetTimestamp();
    }

    public ProcessStats Stop(long requests)
    {
        var elapsed = Stopwatch.GetElapsedTime(_started);
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu = process.TotalProcessorTime - _cpu;
        var allocated = GC.GetTotalAllocatedBytes() - _allocated;
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var oneCore = cpu.TotalSeconds / seconds * 100;
        const double MiB = 1024 * 1024;
        return new ProcessStats(
            CpuPercentOfOneCore: Math.Round(oneCore, 1),
            CpuPercentOfMachine: Math.Round(oneCore / Environment.ProcessorCount, 1),
            CpuMicrosecondsPerRequest: requests > 0 ? Math.Round(cpu.TotalMicroseconds / requests, 2) : 0,
            WorkingSetMiB: Math.Round(process.WorkingSet64 / MiB, 1),
            PeakWorkingSetMiB: Math.Round(process.PeakWorkingSet64 / MiB, 1),
            GcHeapMiB: Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / MiB, 1),
            AllocatedMiBPerSecond: Math.Round(allocated / MiB / seconds, 1),
            AllocatedBytesPerRequest: requests > 0 ? Math.Round((double)allocated / requests, 0) : 0,
            Gen0Collections: GC.CollectionCount(0) - _gen0,
            Gen1Collections: GC.CollectionCount(1) - _gen1,
            Gen2Collections: GC.CollectionCount(2) - _gen2,
            GcPausePercent: Math.Round((GC.GetTotalPauseDuration() - _pause).TotalSeconds / seconds * 100, 2),
            ThreadPoolThreads: ThreadPool.ThreadCount);
    }
}
