using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using QuotaGrains.LoadTest.Options;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>
/// An engine cluster that is already running (e.g. <c>dotnet run --project src/QuotaGrains.Silo</c>): an Orleans
/// client connects to its gateways (static, loopback only) with the cluster's ids, and spends through
/// <c>IQuotaClient</c> as a generation server would. The silo's CPU and memory are not in this process's figures.
/// </summary>
public sealed class ClusterTarget(ClusterTargetOptions options) : QuotaClientTarget
{
    public override string Name => $"cluster ({string.Join(", ", options.Gateways)})";

    public override string Key => "cluster";

    public override Task<TargetDiagnostics> DiagnosticsAsync() => Task.FromResult(new TargetDiagnostics(new Dictionary<string, string>
    {
        ["gateways"] = string.Join(", ", options.Gateways),
        ["cluster id / service id"] = $"{options.ClusterId} / {options.ServiceId}",
        ["client calls in the engine at most, while busy"] = ClientCallBound,
        ["note"] = "the silo runs in another process: its CPU and memory are not in the process figures",
    }));

    protected override IHost BuildHost()
    {
        var gateways = options.Gateways.Select(g => Endpoints.TryParseLoopback(g, out var endpoint, out var problem)
            ? endpoint
            : throw new ArgumentException($"--gateway '{g}': {problem}")).ToArray();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = AppContext.BaseDirectory });
        // Quota__Client__… variables reach the client as they do a generation server's (e.g. its admission gate).
        builder.Configuration.AddEnvironmentVariables();
        LogGate.Configure(builder.Logging);
        builder.UseOrleansClient(client => client
            .UseStaticClustering(gateways)
            .Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            }));
        builder.Services.AddQuotaClient();
        return builder.Build();
    }
}
