using QuotaGrains.Tests.Storage;

namespace QuotaGrains.Tests.Hosting;

/// <summary>The real silo process, started with settings its options validators refuse.</summary>
public sealed class SiloStartupTests
{
    [Fact]
    public async Task A_refused_configuration_exits_with_EX_CONFIG_and_names_every_bad_setting_on_stderr()
    {
        var (exitCode, output, error) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string>
            {
                ["Quota__Spaces__HoldTimeToLive"] = "-00:01:00",
                ["Quota__Spaces__MaxCustomAllowance"] = "1000000000000000001",
                ["Quota__Storage__Kind"] = "bogus",
            },
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 78, $"exit code {exitCode}\nstdout:\n{output}\nstderr:\n{error}");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("QuotaGrains did not start: its configuration is invalid.", lines[0]);
        Assert.Contains("Quota:Spaces: HoldTimeToLive must be positive.", lines);
        Assert.Contains("Quota:Spaces: MaxCustomAllowance must be between 1 and 1,000,000,000,000,000,000 (10^18).", lines);
        Assert.Contains("Quota:Storage: Kind 'bogus' is not supported; use 'memory' or 'azure'.", lines);
        Assert.DoesNotContain("Unhandled exception", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Ready.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_clustering_settings_exit_with_EX_CONFIG_and_are_named()
    {
        var (exitCode, output, error) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string>
            {
                ["Quota__Silo__Clustering"] = "zookeeper",
                ["Quota__Silo__AdvertisedAddress"] = "silo-1.local",
                ["Quota__Silo__SiloPort"] = "40001",
                ["Quota__Silo__GatewayPort"] = "40001",
                ["Quota__Silo__ProbeTimeout"] = "00:00:00.050",
                ["Quota__Silo__MissedProbesLimit"] = "0",
            },
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 78, $"exit code {exitCode}\nstdout:\n{output}\nstderr:\n{error}");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("Quota:Silo: Clustering 'zookeeper' is not supported; use 'localhost' or 'azure'.", lines);
        Assert.Contains("Quota:Silo: AdvertisedAddress 'silo-1.local' is not an IP address.", lines);
        Assert.Contains("Quota:Silo: SiloPort and GatewayPort must differ.", lines);
        Assert.Contains("Quota:Silo: ProbeTimeout 00:00:00.0500000 must be between 200 ms and 1 minute.", lines);
        Assert.Contains("Quota:Silo: MissedProbesLimit must be between 1 and 10.", lines);
        Assert.DoesNotContain("Ready.", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Azure_clustering_without_a_storage_account_is_refused()
    {
        var (exitCode, output, error) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string> { ["Quota__Silo__Clustering"] = "azure" },
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 78, $"exit code {exitCode}\nstdout:\n{output}\nstderr:\n{error}");
        Assert.Contains("Quota:Silo: Clustering 'azure' needs Quota:Storage:ConnectionString (the membership table lives in that account).", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refused_web_and_telemetry_settings_exit_with_EX_CONFIG_and_are_named()
    {
        var (exitCode, output, error) = await SiloProcess.RunToExitAsync(
            new Dictionary<string, string>
            {
                ["Quota__Silo__HttpPort"] = "70000",
                ["Quota__Silo__DashboardPath"] = "dashboard",
                ["Quota__Telemetry__TraceSamplingRatio"] = "1.5",
                ["Quota__Telemetry__MetricsPath"] = "/health/metrics",
                ["Quota__UsagePage__Enabled"] = "true",
                ["Quota__UsagePage__SigningKey"] = "a-short-secret-key",
            },
            TimeSpan.FromSeconds(60));

        Assert.True(exitCode == 78, $"exit code {exitCode}\nstdout:\n{output}\nstderr:\n{error}");
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("Quota:Silo: HttpPort must be between 1 and 65535.", lines);
        Assert.Contains("Quota:Silo: DashboardPath 'dashboard' must start with '/', name a path below the root, and not be under /health.", lines);
        Assert.Contains("Quota:Telemetry: TraceSamplingRatio 1.5 must be between 0 and 1.", lines);
        Assert.Contains("Quota:Telemetry: MetricsPath '/health/metrics' must start with '/' and not be under /health/.", lines);
        Assert.Contains("Quota:UsagePage: SigningKey must be set, at least 32 bytes (HS256), when the usage page is enabled.", lines);
        Assert.DoesNotContain("a-short-secret-key", output + error, StringComparison.Ordinal);
        Assert.DoesNotContain("Ready.", output, StringComparison.Ordinal);
    }
}
