namespace QuotaGrains.Grains;

internal static class GrainTimers
{
    /// <summary>A one-shot, interleaving grain timer due at <paramref name="instant"/> by <paramref name="time"/> (at
    /// once if past).</summary>
    /// <remarks>A grain timer's delay is relative to the clock when it is set, and the delay is measured just before: a
    /// clock that jumped past the instant in between (a test clock advanced by hand) would leave the timer due a whole
    /// jump too late. So the clock is read again once the timer is set.</remarks>
    public static IGrainTimer RegisterGrainTimerAt<TGrain>(this TGrain grain, TimeProvider time, DateTimeOffset instant, Func<TGrain, CancellationToken, Task> callback)
        where TGrain : IGrainBase
    {
        var delay = instant - time.GetUtcNow();
        var timer = grain.RegisterGrainTimer(
            callback,
            grain,
            new GrainTimerCreationOptions(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan) { Interleave = true });
        if (delay > TimeSpan.Zero && instant <= time.GetUtcNow())
        {
            timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }

        return timer;
    }
}
