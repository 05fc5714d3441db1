using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using QuotaGrains.Client;

namespace QuotaGrains.Benchmarks;

/// <summary>
/// Calls into an in-process silo (memory storage) from its co-hosted client, one at a time, so the figures are
/// latencies of the path, not throughput: a reserve and its commit through the per-user grain (client → user grain
/// → Space grain, twice), the same through <see cref="IQuotaClient"/>, and a balance read (client → Space grain).
/// Each iteration uses a fresh Space so that the state each write copies stays small.
/// </summary>
[InvocationCount(2_000)]
public class GrainCallBenchmarks
{
    private static readonly GenerationSpec Spec = new("ai-shadows");

    private IHost _host = null!;
    private IGrainFactory _grains = null!;
    private IQuotaClient _quota = null!;
    private IUserGrain _user = null!;
    private string _spaceId = "";
    private int _space;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        ConfigureHost(builder);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(LoopbackPorts.Next(), LoopbackPorts.Next(), serviceId: "quota-bench", clusterId: $"quota-bench-{Environment.ProcessId}");
            ConfigureSilo(silo);
            silo.AddQuotaGrains();
        });
        builder.Services.AddQuotaClient();
        _host = builder.Build();
        _host.StartAsync().GetAwaiter().GetResult();
        _grains = _host.Services.GetRequiredService<IGrainFactory>();
        _quota = _host.Services.GetRequiredService<IQuotaClient>();
        _user = _grains.GetGrain<IUserGrain>("bench-user");
    }

    /// <summary>What a derived benchmark adds to the host before the silo (e.g. telemetry).</summary>
    protected virtual void ConfigureHost(HostApplicationBuilder builder)
    {
    }

    /// <summary>What a derived benchmark adds to the silo before the grains (e.g. grain call filters).</summary>
    protected virtual void ConfigureSilo(ISiloBuilder silo)
    {
    }

    [IterationSetup]
    public void NewSpace()
    {
        _spaceId = $"bench-space-{_space++}";
        var created = _quota.CreateSpaceAsync(_spaceId, new CreateSpaceRequest($"{_spaceId}-create", "bench-user", PlanTier.Enterprise, CustomAllowance: 1_000_000_000_000))
            .GetAwaiter().GetResult();
        if (!created.Succeeded)
        {
            throw new InvalidOperationException(created.Rejection!.ToString());
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task<long> Reserve_commit_via_user_grain()
    {
        var id = "op-" + _next++;
        var reserved = await _user.ReserveAsync(_spaceId, new ReserveRequest(id, Spec));
        var committed = await _user.CommitAsync(_spaceId, new SettleRequest(id + ":c1", reserved.HoldId!));
        return committed.CommittedCredits;
    }

    [Benchmark]
    public async Task<long> Reserve_commit_via_quota_client()
    {
        var hold = await _quota.ReserveAsync("bench-user", _spaceId, Spec, operationId: "q-" + _next++);
        var committed = await hold.CommitAsync();
        return committed.CommittedCredits;
    }

    [Benchmark]
    public async Task<long> Balance_via_space_grain() => (await _grains.GetGrain<ISpaceGrain>(_spaceId).GetBalanceAsync())!.Available;
}
