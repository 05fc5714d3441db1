using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace QuotaGrains.Silo.Health;

/// <summary>Ready only while this silo is Active in its cluster's membership: joining, shutting down, or declared dead,
/// it must not get traffic.</summary>
internal sealed class SiloActiveHealthCheck(ISiloStatusOracle membership) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var status = membership.CurrentStatus;
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"Silo {membership.SiloAddress} is Active.")
            : HealthCheckResult.Unhealthy($"Silo {membership.SiloAddress} is {status}, not Active."));
    }
}
