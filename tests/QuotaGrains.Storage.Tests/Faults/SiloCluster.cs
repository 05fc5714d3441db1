using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using QuotaGrains.Client;
using QuotaGrains.Client.Options;
using QuotaGrains.Tests.Storage;

namespace QuotaGrains.Tests.Faults;

/// <summary>
/// A cluster of real silo processes (<c>QuotaGrains.Silo</c>, <see cref="SiloProcess"/>) on Azure Table membership in
/// one Azurite, and a client host in this test process, which is a process of its own apart from every silo, as a
/// generation server is. The client joins by the membership table (as README's "Run a cluster" shows), so it finds a
/// silo restarted on new ports. Faults: <see cref="KillAsync"/> (SIGKILL), <see cref="StopAsync"/> (SIGTERM, a
/// graceful stop), <see cref="SiloProcess.PauseAsync"/> / <see cref="SiloProcess.ResumeAsync"/> (SIGSTOP/SIGCONT),
/// <see cref="StartSiloAsync"/> (a replacement).
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    /// <summary>A silo's own start and its view of the others: generous, only to bound a hang on a loaded machine.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly string _connectionString;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly List<SiloProcess> _silos = [];
    private readonly List<SiloProcess> _gone = [];
    private IHost? _client;

    private SiloCluster(string connectionString, string serviceId, IReadOnlyDictionary<string, string>? settings)
    {
        _connectionString = connectionString;
        _settings = settings ?? new Dictionary<string, string>();
        ServiceId = serviceId;

        // A cluster id of its own: the membership table is shared by every test on the Azurite, and silos of another
        // test's cluster (killed, never declared dead) would be probed by this one's.
        ClusterId = serviceId;
    }

    public string ServiceId { get; }

    public string ClusterId { get; }

    /// <summary>The silo processes running now (started, not stopped or killed by this cluster).</summary>
    public IReadOnlyList<SiloProcess> Silos => _silos;

    public IClusterClient Client => _client?.Services.GetRequiredService<IClusterClient>() ?? throw new InvalidOperationException("No client yet.");

    public IQuotaClient Quota => _client?.Services.GetRequiredService<IQuotaClient>() ?? throw new InvalidOperationException("No client yet.");

    public IManagementGrain Management => Client.GetGrain<IManagementGrain>(0);

    /// <summary>Starts <paramref name="silos"/> silo processes at once, waits until each is ready and every one is
    /// active in the membership, then connects the client (<paramref name="client"/>: its options, e.g. a retry
    /// policy). <paramref name="settings"/>: more configuration keys for every silo (e.g. webhook endpoints).</summary>
    public static async Task<SiloCluster> StartAsync(
        string connectionString, string serviceId, int silos, Action<QuotaClientOptions>? client = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var cluster = new SiloCluster(connectionString, serviceId, settings);
        try
        {
            var started = await Task.WhenAll(Enumerable.Range(0, silos).Select(_ => cluster.StartProcessAsync()));
            cluster._silos.AddRange(started);
            await cluster.ConnectAsync(client);
            await cluster.WaitUntilActiveAsync(cluster._silos);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts one more silo (a replacement) and waits until the cluster has it active.</summary>
    public async Task<SiloProcess> StartSiloAsync()
    {
        var silo = await StartProcessAsync();
        _silos.Add(silo);
        await WaitUntilActiveAsync([silo]);
        return silo;
    }

    /// <summary>SIGKILL of <paramref name="silo"/>: no goodbye, its membership row stays active until the others vote
    /// it dead.</summary>
    public async Task KillAsync(SiloProcess silo)
    {
        await silo.KillAsync();
        Retire(silo);
    }

    /// <summary>SIGTERM of <paramref name="silo"/>, and its exit: the host's shutdown runs Orleans' graceful stop.
    /// Returns the exit code.</summary>
    public async Task<int> StopAsync(SiloProcess silo)
    {
        var exitCode = await silo.StopAsync(Patience);
        Retire(silo);
        return exitCode;
    }

    /// <summary>The membership as the cluster sees it now (read from the table by the silo that answers).</summary>
    public async Task<Dictionary<SiloAddress, SiloStatus>> HostsAsync(bool onlyActive) => await Management.GetHosts(onlyActive);

    /// <summary>The silo process whose <see cref="SiloAddress"/> is <paramref name="address"/>, if this cluster started it.</summary>
    public SiloProcess? ProcessAt(SiloAddress? address) =>
        address is null ? null : _silos.Concat(_gone).FirstOrDefault(s => s.SiloPort == address.Endpoint.Port);

    /// <summary>The silo address of <paramref name="silo"/> in the membership (its port and generation).</summary>
    public async Task<SiloAddress> AddressOfAsync(SiloProcess silo) =>
        (await HostsAsync(onlyActive: false)).Keys.Where(a => a.Endpoint.Port == silo.SiloPort).MaxBy(a => a.Generation)
        ?? throw new InvalidOperationException($"Silo on port {silo.SiloPort} is not in the membership.");

    /// <summary>Where <paramref name="grain"/> is active now, as the grain directory says (null: nowhere).</summary>
    public async Task<SiloProcess?> WhereAsync(IAddressable grain) => ProcessAt(await Management.GetActivationAddress(grain));

    /// <summary>Every silo's output, for a failure's message.</summary>
    public string Output => string.Join("\n", _silos.Concat(_gone).Select(s => $"--- silo {s.SiloPort} (pid {s.ProcessId}) ---\n{s.Output}"));

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            // Not a graceful stop: the silos may be gone, and a client stopping against no gateway only waits.
            _client.Dispose();
        }

        await Task.WhenAll(_silos.Concat(_gone).Select(s => s.DisposeAsync().AsTask()));
    }

    private Task<SiloProcess> StartProcessAsync() => SiloProcess.StartAsync(_connectionString, ServiceId, new Dictionary<string, string>(_settings)
    {
        ["Quota:Silo:Clustering"] = "azure",
        ["Quota:Silo:ClusterId"] = ClusterId,
    });

    private void Retire(SiloProcess silo)
    {
        _silos.Remove(silo);
        _gone.Add(silo);
    }

    private async Task ConnectAsync(Action<QuotaClientOptions>? configure)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client => client
            .UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(_connectionString))
            .Configure<ClusterOptions>(o =>
            {
                o.ServiceId = ServiceId;
                o.ClusterId = ClusterId;
            })
            // The client learns of new gateways from the table at this period (Orleans' default: 1 minute); a rolling
            // restart replaces every gateway within less.
            .Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1)));
        builder.Services.AddQuotaClient(configure);
        _client = builder.Build();
        await _client.StartAsync();
    }

    /// <summary>Asks the membership until each of <paramref name="silos"/> is active in it (a silo joins in steps:
    /// joining, active, then every silo reads the table).</summary>
    private async Task WaitUntilActiveAsync(IReadOnlyList<SiloProcess> silos)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                var active = await HostsAsync(onlyActive: true);
                if (silos.All(s => active.Keys.Any(a => a.Endpoint.Port == s.SiloPort)))
                {
                    return;
                }
            }
            catch (Exception exception) when (DateTime.UtcNow < deadline && exception is not OutOfMemoryException)
            {
                // The silo that answered may be the one leaving: ask again.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Silos {string.Join(", ", silos.Select(s => s.SiloPort))} not active within {Patience}.\n{Output}");
            }

            await Task.Delay(100);
        }
    }
}
