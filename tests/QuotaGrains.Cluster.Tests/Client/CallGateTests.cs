using QuotaGrains.Client;

namespace QuotaGrains.Tests.Client;

/// <summary>The client's admission gate: while the process is busy at most its limit of calls run and the others
/// start in arrival order; while it is not, calls go straight in.</summary>
public sealed class CallGateTests
{
    private static readonly Func<bool> Busy = () => true;
    private static readonly Func<bool> Idle = () => false;

    [Fact]
    public async Task While_busy_at_most_the_limit_runs_and_waiting_calls_start_in_arrival_order()
    {
        var gate = new CallGate(2, Busy);
        var calls = new Calls(gate, 5);

        await calls.Started(0, 1);
        Assert.Equal([0, 1], calls.StartedOrder());
        Assert.Equal(2, gate.InFlight);

        calls.Finish(1);
        await calls.Started(2);
        Assert.Equal([0, 1, 2], calls.StartedOrder());

        calls.Finish(0);
        await calls.Started(3);
        Assert.Equal([0, 1, 2, 3], calls.StartedOrder());
        Assert.False(calls.HasStarted(4));

        calls.Finish(2, 3);
        await calls.Started(4);
        calls.Finish(4);

        var results = await calls.Results();
        Assert.Equal([0, 1, 2, 3, 4], results);
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task While_not_busy_calls_go_straight_in_past_the_limit()
    {
        var gate = new CallGate(2, Idle);
        var calls = new Calls(gate, 6);

        await calls.Started(0, 1, 2, 3, 4, 5);
        Assert.Equal(6, gate.InFlight);
        calls.Finish(0, 1, 2, 3, 4, 5);
        var results = await calls.Results();
        Assert.Equal([0, 1, 2, 3, 4, 5], results);
    }

    [Fact]
    public async Task Waiting_calls_go_in_together_once_the_process_is_no_longer_busy()
    {
        var busy = 1;
        var gate = new CallGate(1, () => Volatile.Read(ref busy) == 1);
        var calls = new Calls(gate, 4);
        await calls.Started(0);
        Assert.False(calls.HasStarted(1));

        // Reconsidered when a call ends: the process is not busy now, so every waiter goes in, in order.
        Volatile.Write(ref busy, 0);
        calls.Finish(0);
        await calls.Started(1, 2, 3);
        Assert.Equal([0, 1, 2, 3], calls.StartedOrder());
        Assert.Equal(3, gate.InFlight);
        calls.Finish(1, 2, 3);
        await calls.Results();
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task A_caller_cancelled_while_waiting_never_runs_its_call_and_the_next_goes_in()
    {
        var gate = new CallGate(1, Busy);
        var first = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = gate.RunAsync(() => first.Task, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var ran = false;

        var waiting = gate.RunAsync(() =>
        {
            ran = true;
            return Task.FromResult(2);
        }, cancel.Token);
        var after = gate.RunAsync(() => Task.FromResult(3), CancellationToken.None);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.False(after.IsCompleted);
        first.SetResult(1);
        Assert.Equal(1, await running);
        Assert.Equal(3, await after);
        Assert.False(ran);
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public async Task A_call_that_throws_gives_its_slot_back()
    {
        var gate = new CallGate(1, Busy);

        await Assert.ThrowsAsync<TimeoutException>(() => gate.RunAsync<int>(() => throw new TimeoutException(), CancellationToken.None));

        Assert.Equal(0, gate.InFlight);
        Assert.Equal(7, await gate.RunAsync(() => Task.FromResult(7), CancellationToken.None));
    }

    [Fact]
    public async Task Limit_zero_admits_every_call_at_once()
    {
        var gate = new CallGate(0, Busy);
        var calls = new Calls(gate, 100);

        await calls.Started([.. Enumerable.Range(0, 100)]);
        calls.Finish([.. Enumerable.Range(0, 100)]);
        Assert.Equal(Enumerable.Range(0, 100), await calls.Results());
    }

    [Fact]
    public void A_negative_limit_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CallGate(-1));
    }

    /// <summary><c>count</c> calls sent through the gate at once, each returning its index when the test finishes it.</summary>
    private sealed class Calls
    {
        private readonly List<int> _started = [];
        private readonly TaskCompletionSource<int>[] _finish;
        private readonly TaskCompletionSource[] _startedSignals;
        private readonly Task<int>[] _calls;

        public Calls(CallGate gate, int count)
        {
            _finish = [.. Enumerable.Range(0, count).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously))];
            _startedSignals = [.. Enumerable.Range(0, count).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))];
            _calls = [.. Enumerable.Range(0, count).Select(i => gate.RunAsync(() =>
            {
                lock (_started)
                {
                    _started.Add(i);
                }

                _startedSignals[i].SetResult();
                return _finish[i].Task;
            }, CancellationToken.None))];
        }

        public Task Started(params int[] indexes) => Task.WhenAll(indexes.Select(i => _startedSignals[i].Task));

        public bool HasStarted(int index) => _startedSignals[index].Task.IsCompleted;

        public int[] StartedOrder()
        {
            lock (_started)
            {
                return [.. _started];
            }
        }

        public void Finish(params int[] indexes)
        {
            foreach (var i in indexes)
            {
                _finish[i].SetResult(i);
            }
        }

        public Task<int[]> Results() => Task.WhenAll(_calls);
    }
}
