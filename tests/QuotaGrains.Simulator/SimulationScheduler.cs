namespace QuotaGrains.Simulator;

/// <summary>
/// One silo's task scheduler in the simulation: tasks queue here and run one at a time, on the simulation's thread,
/// the next one picked by the seeded random, so that interleavings are explored and a seed decides them all. Nothing
/// runs inline (every continuation goes through the queue). A crashed silo's scheduler is dead: what it held never runs.
/// </summary>
internal sealed class SimulationScheduler(Random random, int thread) : TaskScheduler
{
    private readonly List<Task> _ready = [];

    public bool Dead { get; private set; }

    public int Ready => _ready.Count;

    /// <summary>Set when a task was queued from another thread: something escaped the simulation (nondeterminism).</summary>
    public string? Escaped { get; private set; }

    public override int MaximumConcurrencyLevel => 1;

    public void Kill()
    {
        Dead = true;
        _ready.Clear();
    }

    /// <summary>Runs one ready task, picked at random; false when none is ready.</summary>
    public bool RunOne()
    {
        if (_ready.Count == 0)
        {
            return false;
        }

        var i = random.Next(_ready.Count);
        var task = _ready[i];
        _ready[i] = _ready[^1];
        _ready.RemoveAt(_ready.Count - 1);
        TryExecuteTask(task);
        return true;
    }

    /// <summary>Starts <paramref name="work"/> as a task of this scheduler (so that its awaits come back here).</summary>
    public Task Start(Func<Task> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    public Task<T> Start<T>(Func<Task<T>> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    protected override void QueueTask(Task task)
    {
        if (Environment.CurrentManagedThreadId != thread)
        {
            Escaped ??= $"a task was queued from thread {Environment.CurrentManagedThreadId}:{Environment.NewLine}{Environment.StackTrace}";
            return;
        }

        if (!Dead)
        {
            _ready.Add(task);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => _ready;
}
