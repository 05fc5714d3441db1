using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace QuotaGrains.Grains.Journal;

/// <summary>Starts the journal with the silo's storage services and stops it after every Space has deactivated.</summary>
internal sealed class JournalLifecycle(SiloJournalWriter journal) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(
        nameof(JournalLifecycle),
        ServiceLifecycleStage.RuntimeStorageServices,
        _ =>
        {
            journal.Start();
            return Task.CompletedTask;
        },
        async _ => await journal.DisposeAsync());

    /// <summary>One stream per silo incarnation: <c>{service}/{ip}-{port}-{generation}</c>.</summary>
    public static string StreamName(IOptions<ClusterOptions> cluster, ILocalSiloDetails silo) => StreamName(cluster.Value.ServiceId, silo.SiloAddress);

    public static string StreamName(string serviceId, SiloAddress address) =>
        $"{ServicePrefix(serviceId)}{Sanitize(address.Endpoint.Address.ToString())}-{address.Endpoint.Port}-{address.Generation}";

    /// <summary>Every stream of the service starts with this.</summary>
    public static string ServicePrefix(string serviceId) => $"{Sanitize(serviceId)}/";

    private static string Sanitize(string value) =>
        new(value.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_').ToArray());
}
