namespace QuotaGrains.Client;

/// <summary>
/// Lets calls into the engine straight away while this process has spare processor time, and while it is busy, at
/// most <see cref="LimitWhenBusy"/> at once, the others waiting their turn in arrival order.
/// </summary>
/// <remarks>
/// Under saturation the .NET thread pool runs the newest work on each thread first (its local queues are LIFO, and
/// Orleans schedules activations there): with hundreds of calls inside a CPU-bound engine some waited far longer than
/// the rest. A bounded number inside and a first-come queue outside keeps the engine as busy with an even latency.
/// A fixed bound would starve an engine that waits on storage instead (a Space batches the requests that arrive
/// during its append: 32 in flight let it batch 16 instead of 125 and cut a durable Space's throughput by two thirds),
/// so the bound applies only while the process is busy (<see cref="ProcessCpu"/>: 85 % of its processors over the
/// last 100 ms), the sign that more calls would only wait inside. Waiters are reconsidered each time a call ends.
/// That sign is this process's CPU, which is the engine's only when the client runs inside a silo's process: a client
/// in a generation server would queue on the generation server's own work. So <c>AddQuotaClient</c> bounds by default
/// only inside a silo (<see cref="Options.QuotaClientOptions.MaxConcurrentCallsWhenBusy"/>).
/// </remarks>
internal sealed class CallGate
{
    private readonly Func<bool> _busy;
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private readonly Lock _lock = new();
    private int _inFlight;

    /// <param name="limitWhenBusy">The bound while busy; 0 admits every call.</param>
    /// <param name="busy">Whether the process is busy (default <see cref="ProcessCpu.Busy"/>).</param>
    public CallGate(int limitWhenBusy, Func<bool>? busy = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limitWhenBusy);
        LimitWhenBusy = limitWhenBusy;
        _busy = busy ?? (static () => ProcessCpu.Busy);
    }

    public int LimitWhenBusy { get; }

    /// <summary>Calls admitted and not yet finished.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Runs <paramref name="call"/> once admitted. A caller cancelled while waiting never runs it.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        if (LimitWhenBusy == 0)
        {
            return await call();
        }

        if (Enter(cancellationToken) is { } waiter)
        {
            using (cancellationToken.Register(() => Abandon(waiter, cancellationToken)))
            {
                await waiter.Value.Task;
            }
        }

        try
        {
            return await call();
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>Null when admitted at once; otherwise the caller's place in the queue.</summary>
    private LinkedListNode<TaskCompletionSource>? Enter(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_waiters.Count == 0 && MayAdmit())
            {
                _inFlight++;
                return null;
            }

            cancellationToken.ThrowIfCancellationRequested();
            return _waiters.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
    }

    private void Abandon(LinkedListNode<TaskCompletionSource> node, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            // Admitted already (no longer listed): the call runs, and its end frees the slot as usual.
            if (node.List is null)
            {
                return;
            }

            _waiters.Remove(node);
        }

        node.Value.TrySetCanceled(cancellationToken);
    }

    private void Exit()
    {
        // Usually one waiter takes the place of the call that ended: no list for that.
        TaskCompletionSource? next = null;
        List<TaskCompletionSource>? more = null;
        lock (_lock)
        {
            _inFlight--;
            while (_waiters.First is { } first && MayAdmit())
            {
                _waiters.RemoveFirst();
                _inFlight++;
                if (next is null)
                {
                    next = first.Value;
                }
                else
                {
                    (more ??= []).Add(first.Value);
                }
            }
        }

        next?.TrySetResult();
        if (more is not null)
        {
            foreach (var waiter in more)
            {
                waiter.TrySetResult();
            }
        }
    }

    private bool MayAdmit() => _inFlight < LimitWhenBusy || !_busy();
}
