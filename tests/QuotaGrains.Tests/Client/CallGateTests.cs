using QuotaGrains.Client;

namespace QuotaGrains.Tests.Client;

/// <summary>The client's admission gate: at most its limit of calls run; the others start in arrival order.</summary>
public sealed class CallGateTests
{
    [Fact]
    public async Task At_most_the_limit_runs_and_waiting_calls_start_in_arrival_order()
    {
        var gate = new CallGate(2);
        var started = new List<int>();
        var finish = Enumerable.Range(0, 5).Select(_ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var startedSignals = Enumerable.Range(0, 5).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();

        var calls = Enumerable.Range(0, 5).Select(i => gate.RunAsync(() =>
        {
            lock (started)
            {
                started.Add(i);
            }

            startedSignals[i].SetResult();
            return finish[i].Task;
        }, CancellationToken.None)).ToArray();

        await Task.WhenAll(startedSignals[0].Task, startedSignals[1].Task);
        Assert.Equal([0, 1], Started());
        Assert.Equal(2, gate.InFlight);

        finish[1].SetResult(1);
        await startedSignals[2].Task;
        Assert.Equal([0, 1, 2], Started());

        finish[0].SetResult(0);
        await startedSignals[3].Task;
        Assert.Equal([0, 1, 2, 3], Started());
        Assert.False(startedSignals[4].Task.IsCompleted);

        finish[2].SetResult(2);
        finish[3].SetResult(3);
        await startedSignals[4].Task;
        finish[4].SetResult(4);

        var results = await Task.WhenAll(calls);
        Assert.Equal([0, 1, 2, 3, 4], results);
        Assert.Equal(0, gate.InFlight);

        int[] Started()
        {
            lock (started)
            {
                return [.. started];
            }
        }
    }

    [Fact]
    public async Task A_caller_cancelled_while_waiting_never_runs_its_call()
    {
        var gate = new CallGate(1);
        var first = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = gate.RunAsync(() => first.Task, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var ran = false;

        var waiting = gate.RunAsync(() =>
        {
            ran = true;
            return Task.FromResult(2);
        }, cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        first.SetResult(1);
        Assert.Equal(1, await running);
        Assert.False(ran);
        Assert.Equal(0, gate.InFlight);
        Assert.Equal(3, await gate.RunAsync(() => Task.FromResult(3), CancellationToken.None));
    }

    [Fact]
    public async Task A_call_that_throws_gives_its_slot_back()
    {
        var gate = new CallGate(1);

        await Assert.ThrowsAsync<TimeoutException>(() => gate.RunAsync<int>(() => throw new TimeoutException(), CancellationToken.None));

        Assert.Equal(0, gate.InFlight);
        Assert.Equal(7, await gate.RunAsync(() => Task.FromResult(7), CancellationToken.None));
    }

    [Fact]
    public async Task Limit_zero_admits_every_call_at_once()
    {
        var gate = new CallGate(0);
        var finish = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;

        var calls = Enumerable.Range(0, 100).Select(_ => gate.RunAsync(() =>
        {
            Interlocked.Increment(ref started);
            return finish.Task;
        }, CancellationToken.None)).ToArray();

        Assert.Equal(100, Volatile.Read(ref started));
        finish.SetResult(9);
        Assert.All(await Task.WhenAll(calls), v => Assert.Equal(9, v));
    }

    [Fact]
    public void A_negative_limit_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CallGate(-1));
    }
}
