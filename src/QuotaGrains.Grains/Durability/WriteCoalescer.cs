namespace QuotaGrains.Grains.Durability;

/// <summary>
/// One write in flight; callers share the next. <see cref="WriteAsync"/> asks for a write of everything changed so
/// far: while a write is in flight, every caller gets the one queued after it, which starts when the one in flight has
/// finished (succeeded or failed) and so carries everything changed meanwhile. Writes never overlap and keep their
/// order; a failed write fails exactly the callers who shared it, and the next one still runs. What is written and
/// what a failure means stay with the owner, in the delegates it gives. Like a grain, it is used from one thread at a
/// time (the owner's).
/// </summary>
/// <remarks>Each write is one async step here, as when the owner wrote the chain itself: on a hot path (a Space's
/// journal append), <c>write</c> should return the storage call itself and leave what follows it to
/// <c>written</c>, because an async method of the owner's own, awaited here, would add a state machine, and in a grain a
/// continuation and a task, to every write. Where writes are rare, <c>write</c> can be an async method doing it all.
/// </remarks>
internal sealed class WriteCoalescer
{
    private readonly Func<Task> _write;
    private readonly Action<Task>? _written;
    private readonly Func<Exception, Exception>? _failed;
    private Task _last = Task.CompletedTask;
    private Task _latest = Task.CompletedTask;
    private TaskCompletionSource? _next;

    /// <param name="write">Starts one write of everything changed so far and returns it; called when the previous write
    /// has finished. It may throw: its callers get the exception.</param>
    /// <param name="written">After the write succeeded (given its task, to read a result from), before its callers
    /// are released. If it throws, the write counts as failed.</param>
    /// <param name="failed">After the write failed: given the exception, does what a failure means to the owner and
    /// returns what the callers get. It must not throw.</param>
    public WriteCoalescer(Func<Task> write, Action<Task>? written = null, Func<Exception, Exception>? failed = null)
    {
        _write = write;
        _written = written;
        _failed = failed;
    }

    /// <summary>Completes when everything asked for so far is written; fails as the latest write did.</summary>
    public Task Latest => _latest;

    /// <summary>Completes when the latest write asked for so far has finished, whether it succeeded or failed.</summary>
    public Task Settled => _last;

    /// <summary>No write in flight and none asked for.</summary>
    public bool Idle => _last.IsCompleted;

    /// <summary>A write of everything changed so far: the one starting now if none is in flight, otherwise the next
    /// one, shared with every caller until it starts.</summary>
    public Task WriteAsync()
    {
        if (_next is { } queued)
        {
            return queued.Task;
        }

        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _next = next;
        _latest = next.Task;
        _last = WriteAfterAsync(_last, next);
        return next.Task;
    }

    private async Task WriteAfterAsync(Task previous, TaskCompletionSource completion)
    {
        await previous;
        _next = null;
        try
        {
            var write = _write();
            await write;
            _written?.Invoke(write);
        }
        catch (Exception exception)
        {
            completion.SetException(_failed is null ? exception : _failed(exception));
            return;
        }

        completion.SetResult();
    }
}
