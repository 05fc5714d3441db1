namespace QuotaGrains.Client;

/// <summary>
/// Bounds the calls one client has in the engine at once; callers past the bound wait in arrival order.
/// </summary>
/// <remarks>
/// Under saturation the .NET thread pool runs the newest work on each thread first (its local queues are LIFO, and
/// Orleans schedules activations there), so with hundreds of calls inside the engine some wait far longer than the
/// rest. Admitting a bounded number and queueing the others first come, first served keeps the engine busy while
/// turning that spread into a fair queue. Async waiters of <see cref="SemaphoreSlim"/> are released oldest first.
/// </remarks>
public sealed class CallGate
{
    private readonly SemaphoreSlim? _slots;

    /// <param name="maxConcurrentCalls">The bound; 0 admits every call at once.</param>
    public CallGate(int maxConcurrentCalls)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxConcurrentCalls);
        Limit = maxConcurrentCalls;
        _slots = maxConcurrentCalls > 0 ? new SemaphoreSlim(maxConcurrentCalls, maxConcurrentCalls) : null;
    }

    public int Limit { get; }

    /// <summary>Calls admitted and not yet finished.</summary>
    public int InFlight => _slots is null ? 0 : Limit - _slots.CurrentCount;

    /// <summary>Runs <paramref name="call"/> once a slot is free. A caller cancelled while waiting never runs it.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        if (_slots is null)
        {
            return await call();
        }

        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await call();
        }
        finally
        {
            _slots.Release();
        }
    }
}
