using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>What the figures were measured on.</summary>
public static class MachineProbe
{
    public static MachineInfo Describe()
    {
        var cpu = "unknown CPU";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            }
        }
        catch (IOException)
        {
        }

        var configuration = typeof(MachineProbe).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "?";
        return new MachineInfo(
            Environment.MachineName,
            Environment.ProcessorCount,
            cpu,
            RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription,
            Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024), 1),
            GitCommit(),
            configuration,
            (System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")
                + (System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Batch ? "" : ", concurrent"));
    }

    /// <summary>The 1-minute load average (runnable and uninterruptible tasks; 2 = both cores busy here), or "?".</summary>
    public static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static string? GitCommit()
    {
        try
        {
            using var git = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            });
            if (git is null)
            {
                return null;
            }

            var output = git.StandardOutput.ReadToEnd().Trim();
            return git.WaitForExit(5_000) && git.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
