namespace QuotaGrains.Grains.Journal;

/// <summary>Where the journal's background work runs and which clock its timeouts, pauses and idle timers read: the
/// thread pool and the system clock in a silo. The simulation hands in its own single-threaded scheduler and simulated
/// clock, so that a run is decided by its seed alone.</summary>
internal sealed class JournalRuntime(TimeProvider time, TaskScheduler scheduler)
{
    public static JournalRuntime Default { get; } = new(TimeProvider.System, TaskScheduler.Default);

    public TimeProvider Time { get; } = time;

    public TaskScheduler Scheduler { get; } = scheduler;

    /// <summary>As <see cref="SemaphoreSlim.WaitAsync(CancellationToken)"/>. On a scheduler of the simulation's own, the wait
    /// is not cancellable: a cancellable wait completes through the thread pool, outside the scheduler (the simulation
    /// never stops a silo's journal; a crash drops it).</summary>
    public Task WaitAsync(SemaphoreSlim semaphore, CancellationToken cancellationToken) =>
        Scheduler == TaskScheduler.Default ? semaphore.WaitAsync(cancellationToken) : semaphore.WaitAsync();

    /// <summary>As <see cref="Task.Run(Func{Task})"/>, on <see cref="Scheduler"/>.</summary>
    public Task Run(Func<Task> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, Scheduler).Unwrap();

    /// <summary>As <see cref="Task.Run{TResult}(Func{Task{TResult}})"/>, on <see cref="Scheduler"/>.</summary>
    public Task<T> Run<T>(Func<Task<T>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, Scheduler).Unwrap();
}
