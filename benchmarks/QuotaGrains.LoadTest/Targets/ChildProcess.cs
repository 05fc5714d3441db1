using System.Diagnostics;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>Stops a server process the harness started for a run.</summary>
public static class ChildProcess
{
    /// <summary>Kills it (our own child, by its id; its data is throwaway, so no clean shutdown is needed), waits up
    /// to 10 s for it to exit, and disposes it.</summary>
    public static async Task StopAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: false);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(timeout.Token);
            }
        }
        catch (Exception exception) when (exception is InvalidOperationException or OperationCanceledException)
        {
        }
        finally
        {
            process.Dispose();
        }
    }
}
