using System.Diagnostics;
using QuotaGrains.Testing;

namespace QuotaGrains.Tests.Hosting;

/// <summary><c>deploy/local/start</c> and <c>stop</c>, as README's "Run a cluster" uses them: silos that are ready and
/// reachable at the gateways printed, and nothing left running after the stop.</summary>
public sealed class LocalClusterScriptTests
{
    [Fact]
    public async Task Start_prints_ready_gateways_and_stop_leaves_no_process()
    {
        var root = RepositoryRoot.Find();
        var state = Directory.CreateTempSubdirectory("quota-local-cluster-");
        // Below the ephemeral range the other tests' free ports come from; a block of its own per run.
        var basePort = 22_000 + Random.Shared.Next(0, 70) * 100;
        var environment = new Dictionary<string, string> { ["QUOTA_LOCAL_DIR"] = state.FullName, ["QUOTA_BASE_PORT"] = basePort.ToString() };
        try
        {
            var (started, output) = await RunAsync(Path.Combine(root, "deploy", "local", "start"), "2", environment);
            Assert.True(started == 0, output);
            Assert.Contains("cluster ready: 2 silos", output, StringComparison.Ordinal);
            Assert.Contains($"gateway 127.0.0.1:{basePort + 201}", output, StringComparison.Ordinal);
            Assert.Contains($"gateway 127.0.0.1:{basePort + 202}", output, StringComparison.Ordinal);
            var pids = File.ReadAllLines(Path.Combine(state.FullName, "pids")).Select(line => int.Parse(line.Split(' ')[1])).ToList();
            Assert.Equal(3, pids.Count);
            Assert.All(pids, pid => Assert.False(Process.GetProcessById(pid).HasExited));
            foreach (var silo in new[] { "silo1", "silo2" })
            {
                Assert.Contains("clustering 'azure'", await File.ReadAllTextAsync(Path.Combine(state.FullName, "logs", silo + ".log")), StringComparison.Ordinal);
            }

            // Each silo serves HTTP on a port of its own, and is ready there (Active, storage answers, journal writes).
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            foreach (var port in new[] { basePort + 301, basePort + 302 })
            {
                Assert.Contains($"http 127.0.0.1:{port}", output, StringComparison.Ordinal);
                using var ready = await http.GetAsync($"http://127.0.0.1:{port}/health/ready");
                Assert.True(ready.IsSuccessStatusCode, $"silo on {port}: {(int)ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
            }

            var (stopped, stopOutput) = await RunAsync(Path.Combine(root, "deploy", "local", "stop"), "", environment);
            Assert.True(stopped == 0, stopOutput);
            Assert.Equal(["stopped silo1", "stopped silo2", "stopped azurite"], stopOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(' ', l.Split(' ').Take(2))).ToArray());
            Assert.All(pids, pid => Assert.True(!IsRunning(pid), $"process {pid} still runs"));
            Assert.False(File.Exists(Path.Combine(state.FullName, "pids")));
        }
        finally
        {
            if (File.Exists(Path.Combine(state.FullName, "pids")))
            {
                await RunAsync(Path.Combine(root, "deploy", "local", "stop"), "", environment);
            }

            state.Delete(recursive: true);
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            return !Process.GetProcessById(pid).HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string script, string arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("bash", $"\"{script}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{script} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        return (process.ExitCode, await output + await error);
    }
}
