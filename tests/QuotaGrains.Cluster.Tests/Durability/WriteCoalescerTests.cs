using QuotaGrains.Grains.Durability;

namespace QuotaGrains.Tests.Durability;

/// <summary>One write in flight, callers share the next: against a fake store whose writes the test completes one by
/// one, each write carrying the changes made before it started.</summary>
public sealed class WriteCoalescerTests
{
    [Fact]
    public async Task Callers_during_a_write_in_flight_share_the_next_write_which_carries_their_changes()
    {
        var store = new Store();
        var writes = new WriteCoalescer(store.Write);

        store.Change(1);
        var first = writes.WriteAsync();
        Assert.Equal(1, store.Started);

        store.Change(2);
        var second = writes.WriteAsync();
        store.Change(3);
        var third = writes.WriteAsync();
        Assert.NotSame(first, second);
        Assert.Same(second, third);
        Assert.Equal(1, store.Started);

        await store.SucceedThenNextStartedAsync(1);
        await first;
        Assert.False(second.IsCompleted);

        store.Succeed(2);
        await second;
        Assert.Equal([[1], [2, 3]], store.Batches);
    }

    [Fact]
    public async Task Callers_that_arrive_while_the_next_write_is_queued_share_it()
    {
        var store = new Store();
        var writes = new WriteCoalescer(store.Write);
        var first = writes.WriteAsync();

        var queued = new List<Task>();
        for (var i = 1; i <= 5; i++)
        {
            store.Change(i);
            queued.Add(writes.WriteAsync());
        }

        Assert.All(queued, t => Assert.Same(queued[0], t));
        await store.SucceedThenNextStartedAsync(1);
        store.Succeed(2);
        await Task.WhenAll(queued);
        await first;
        Assert.Equal([[], [1, 2, 3, 4, 5]], store.Batches);
    }

    [Fact]
    public async Task Writes_never_overlap_and_keep_their_order()
    {
        var store = new Store();
        var writes = new WriteCoalescer(store.Write);
        var callers = new List<Task>();

        store.Change(0);
        callers.Add(writes.WriteAsync());
        for (var write = 1; write <= 4; write++)
        {
            // While write n is in flight, changes arrive for write n + 1.
            store.Change(write * 10);
            callers.Add(writes.WriteAsync());
            store.Change((write * 10) + 1);
            callers.Add(writes.WriteAsync());
            Assert.Equal(write, store.Started);

            await store.SucceedThenNextStartedAsync(write);
        }

        store.Succeed(5);
        await Task.WhenAll(callers);
        Assert.Equal([[0], [10, 11], [20, 21], [30, 31], [40, 41]], store.Batches);
        Assert.Equal(1, store.MostInFlight);
    }

    [Fact]
    public async Task A_failing_write_fails_exactly_the_callers_who_shared_it_and_the_next_write_still_runs()
    {
        var store = new Store();
        var writes = new WriteCoalescer(store.Write);
        var first = writes.WriteAsync();
        store.Change(2);
        var second = writes.WriteAsync();
        var alsoSecond = writes.WriteAsync();
        await store.SucceedThenNextStartedAsync(1);
        store.Change(3);
        var third = writes.WriteAsync();

        var failure = new InvalidOperationException("storage says no");
        store.Fail(2, failure);
        await store.StartedAsync(3);

        await first;
        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => second));
        Assert.Same(second, alsoSecond);
        Assert.False(third.IsCompleted);
        store.Succeed(3);
        await third;
        Assert.Equal([[], [2], [3]], store.Batches);
    }

    [Fact]
    public async Task A_write_that_throws_before_returning_fails_its_callers_and_the_next_write_still_runs()
    {
        var store = new Store();
        var failure = new InvalidOperationException("refused at once");
        var throws = true;
        var writes = new WriteCoalescer(() => throws ? throw failure : store.Write());

        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(writes.WriteAsync));
        throws = false;
        store.Change(1);
        var next = writes.WriteAsync();
        await store.StartedAsync(1);
        store.Succeed(1);
        await next;
        Assert.Equal([[1]], store.Batches);
    }

    [Fact]
    public async Task Latest_completes_when_everything_asked_so_far_is_written_and_fails_as_the_latest_write()
    {
        var store = new Store();
        var writes = new WriteCoalescer(store.Write);
        Assert.True(writes.Latest.IsCompletedSuccessfully);

        var first = writes.WriteAsync();
        Assert.Same(first, writes.Latest);
        var second = writes.WriteAsync();
        Assert.Same(second, writes.Latest);
        var latest = writes.Latest;

        await store.SucceedThenNextStartedAsync(1);
        await first;
        Assert.False(latest.IsCompleted);
        store.Succeed(2);
        await latest;

        var third = writes.WriteAsync();
        await store.StartedAsync(3);
        var failure = new InvalidOperationException("lost");
        store.Fail(3, failure);
        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => writes.Latest));
        Assert.Same(third, writes.Latest);
    }

    [Fact]
    public async Task Settled_and_Idle_say_when_no_write_is_in_flight_or_asked_for_whatever_the_outcome()
    {
        var store = new Store();
        var writes = new WriteCoalescer(store.Write);
        Assert.True(writes.Idle);
        Assert.True(writes.Settled.IsCompletedSuccessfully);

        _ = writes.WriteAsync();
        var second = writes.WriteAsync();
        var settled = writes.Settled;
        Assert.False(writes.Idle);

        await store.SucceedThenNextStartedAsync(1);
        Assert.False(writes.Idle);
        Assert.False(settled.IsCompleted);

        store.Fail(2, new InvalidOperationException("lost"));
        await settled;
        Assert.True(settled.IsCompletedSuccessfully);
        Assert.True(writes.Idle);
        await Assert.ThrowsAsync<InvalidOperationException>(() => second);
    }

    [Fact]
    public async Task Written_reads_the_result_of_a_write_before_its_callers_are_released()
    {
        var store = new Store();
        var seen = new List<int>();
        var writes = new WriteCoalescer(store.Write, written: write => seen.Add(((Task<int>)write).Result));

        var first = writes.WriteAsync();
        var second = writes.WriteAsync();
        store.Succeed(1, result: 41);
        await first;
        Assert.Equal([41], seen);
        await store.StartedAsync(2);
        store.Succeed(2, result: 42);
        await second;
        Assert.Equal([41, 42], seen);
    }

    [Fact]
    public async Task Failed_turns_a_failure_into_what_the_callers_get_and_a_throwing_written_counts_as_a_failure()
    {
        var store = new Store();
        var failures = new List<Exception>();
        var writes = new WriteCoalescer(
            store.Write,
            written: write =>
            {
                if (((Task<int>)write).Result == 0)
                {
                    throw new FormatException("unreadable");
                }
            },
            failed: e =>
            {
                failures.Add(e);
                return new TimeoutException("outcome unknown", e);
            });

        var storage = new InvalidOperationException("storage says no");
        var first = writes.WriteAsync();
        store.Fail(1, storage);
        var seen = await Assert.ThrowsAsync<TimeoutException>(() => first);
        Assert.Same(storage, seen.InnerException);

        // The failed write has finished once its callers know, but its step may still be returning: wait for the start.
        var second = writes.WriteAsync();
        await store.StartedAsync(2);
        store.Succeed(2, result: 0);
        var unreadable = await Assert.ThrowsAsync<TimeoutException>(() => second);
        Assert.IsType<FormatException>(unreadable.InnerException);

        var third = writes.WriteAsync();
        await store.StartedAsync(3);
        store.Succeed(3, result: 3);
        await third;
        Assert.Equal([storage, unreadable.InnerException], failures);
    }

    /// <summary>A store whose writes each take the changes made so far and complete when the test says.</summary>
    private sealed class Store
    {
        private readonly object _gate = new();
        private readonly List<int> _changes = [];
        private readonly List<TaskCompletionSource<int>> _writes = [];
        private readonly List<TaskCompletionSource> _started = [];
        private int _inFlight;

        public List<int[]> Batches { get; } = [];

        public int MostInFlight { get; private set; }

        public int Started
        {
            get
            {
                lock (_gate)
                {
                    return _writes.Count;
                }
            }
        }

        public void Change(int change)
        {
            lock (_gate)
            {
                _changes.Add(change);
            }
        }

        public Task Write()
        {
            lock (_gate)
            {
                MostInFlight = Math.Max(MostInFlight, ++_inFlight);
                Batches.Add([.. _changes]);
                _changes.Clear();
                var write = new TaskCompletionSource<int>();
                _writes.Add(write);
                Signal(_writes.Count).SetResult();
                return write.Task;
            }
        }

        public Task StartedAsync(int write)
        {
            lock (_gate)
            {
                return Signal(write).Task;
            }
        }

        public void Succeed(int write, int result = 0) => Complete(write).SetResult(result);

        /// <summary>Write n succeeds; completes once write n + 1 (already asked for) has started.</summary>
        public Task SucceedThenNextStartedAsync(int write)
        {
            Succeed(write);
            return StartedAsync(write + 1);
        }

        public void Fail(int write, Exception failure) => Complete(write).SetException(failure);

        private TaskCompletionSource<int> Complete(int write)
        {
            lock (_gate)
            {
                _inFlight--;
                return _writes[write - 1];
            }
        }

        private TaskCompletionSource Signal(int write)
        {
            while (_started.Count < write)
            {
                _started.Add(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }

            return _started[write - 1];
        }
    }
}
