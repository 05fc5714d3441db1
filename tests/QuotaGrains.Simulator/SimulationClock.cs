namespace QuotaGrains.Simulator;

/// <summary>The simulated clock: time moves only when the simulation advances it, and timers (task delays, timeouts,
/// wake-ups) fire then, in order of due time and of creation, on the simulation's thread.</summary>
internal sealed class SimulationClock(DateTimeOffset start) : TimeProvider
{
    private readonly PriorityQueue<(Timer Timer, int Version), (long Due, long Order)> _due = new();
    private DateTimeOffset _now = start;
    private long _order;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public int Pending => _due.Count;

    public override DateTimeOffset GetUtcNow() => _now;

    public override long GetTimestamp() => _now.UtcTicks;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state, TaskScheduler.Current as SimulationScheduler);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>When the next live timer fires, if any.</summary>
    public DateTimeOffset? NextDue()
    {
        while (_due.TryPeek(out var next, out var at))
        {
            if (next.Timer.Version == next.Version)
            {
                return new DateTimeOffset(at.Due, TimeSpan.Zero);
            }

            _due.Dequeue();
        }

        return null;
    }

    /// <summary>Moves time to <paramref name="instant"/>, firing every timer due by then in order.</summary>
    public void AdvanceTo(DateTimeOffset instant)
    {
        while (NextDue() is { } due && due <= instant)
        {
            var (timer, _) = _due.Dequeue();
            if (due > _now)
            {
                _now = due;
            }

            timer.Fire();
        }

        if (instant > _now)
        {
            _now = instant;
        }
    }

    private void Schedule(Timer timer, DateTimeOffset due) => _due.Enqueue((timer, timer.Version), (due.UtcTicks, _order++));

    private sealed class Timer(SimulationClock clock, TimerCallback callback, object? state, SimulationScheduler? owner) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;
        private bool _disposed;

        public int Version { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }

            Version++;
            _period = period;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                clock.Schedule(this, clock._now + dueTime);
            }

            return true;
        }

        public void Fire()
        {
            // A timer of a crashed silo never fires.
            if (_disposed || owner?.Dead == true)
            {
                return;
            }

            if (_period != Timeout.InfiniteTimeSpan && _period > TimeSpan.Zero)
            {
                Version++;
                clock.Schedule(this, clock._now + _period);
            }
            else
            {
                Version++;
            }

            callback(state);
        }

        public void Dispose()
        {
            _disposed = true;
            Version++;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
