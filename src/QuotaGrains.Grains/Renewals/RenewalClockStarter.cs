using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Renewals;

/// <summary>Activates the renewal clock when the silo is up (without holding the start back), so that it registers
/// its reminder and catches up at once rather than at the first registration or reminder tick.</summary>
internal sealed class RenewalClockStarter(IGrainFactory grains, IOptions<RenewalOptions> options, ILogger<RenewalClockStarter> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    private const int Attempts = 5;
    private readonly CancellationTokenSource _stopping = new();

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(
        nameof(RenewalClockStarter),
        ServiceLifecycleStage.Active,
        started =>
        {
            if (options.Value.Enabled && options.Value.StartClockOnSiloStart)
            {
                _ = Task.Run(() => StartClockAsync(_stopping.Token));
            }

            return Task.CompletedTask;
        },
        stopped =>
        {
            _stopping.Cancel();
            return Task.CompletedTask;
        });

    private async Task StartClockAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= Attempts && !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await grains.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey).StartAsync();
                return;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                if (attempt == Attempts)
                {
                    RenewalLog.StartFailed(logger, e);
                    return;
                }

                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }
    }
}
