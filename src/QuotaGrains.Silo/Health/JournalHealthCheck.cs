using Microsoft.Extensions.Diagnostics.HealthChecks;
using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Silo.Health;

/// <summary>Unready while the journal writer's latest block append failed less than <see cref="FailureWindow"/> ago:
/// every Space on this silo then fails its writes closed until an append succeeds (the writer rolls to a new segment and
/// tries again with the next block). An older failure with no append since (nothing was written: an idle silo) is
/// Degraded, not unready: whether storage answers now is the storage check's to say. A fenced journal (the cluster
/// declared this silo dead and a survivor sealed its stream) is unhealthy for good: this silo can acknowledge nothing.</summary>
internal sealed class JournalHealthCheck(SiloJournalWriter journal) : IHealthCheck
{
    public static readonly TimeSpan FailureWindow = TimeSpan.FromSeconds(30);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (journal.IsFenced)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"Journal {journal.Stream} was fenced: the cluster declared this silo dead; it acknowledges nothing more."));
        }

        if (journal.LastAppendFailure is not { } failure)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"Journal {journal.Stream}: {journal.QueueDepth} record(s) queued, {journal.AppendsInFlight} append(s) in flight."));
        }

        var ago = journal.SinceLastAppendFailure;
        var description = $"Journal {journal.Stream}: the latest append failed {ago.TotalSeconds:0.#} s ago ({failure.GetType().Name}: {failure.Message}).";
        return Task.FromResult(ago < FailureWindow ? HealthCheckResult.Unhealthy(description) : HealthCheckResult.Degraded(description + " Nothing was appended since."));
    }
}
