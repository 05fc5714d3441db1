using Microsoft.Extensions.Diagnostics.HealthChecks;
using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Silo.Health;

/// <summary>Unready while the journal writer's latest block append failed: every Space on this silo then fails its
/// writes closed until an append succeeds (the writer rolls to a new segment and tries again with the next block).</summary>
internal sealed class JournalHealthCheck(SiloJournalWriter journal) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = journal.LastAppendFailure;
        return Task.FromResult(failure is null
            ? HealthCheckResult.Healthy($"Journal {journal.Stream}: {journal.QueueDepth} record(s) queued, {journal.AppendsInFlight} append(s) in flight.")
            : HealthCheckResult.Unhealthy($"Journal {journal.Stream}: the latest append failed ({failure.GetType().Name}: {failure.Message})."));
    }
}
