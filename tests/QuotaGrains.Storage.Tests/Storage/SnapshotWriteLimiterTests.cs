using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Tests.Storage;

public sealed class SnapshotWriteLimiterTests
{
    [Fact]
    public async Task No_more_writes_run_at_once_than_the_option_allows_and_the_rest_start_in_order()
    {
        var limiter = new SnapshotWriteLimiter(Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxSnapshotWritesInFlight = 2 }));
        var gates = Enumerable.Range(0, 5).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var started = new List<int>();
        var running = 0;
        var maxRunning = 0;
        using var startedSignal = new SemaphoreSlim(0);
        var writes = Enumerable.Range(0, 5).Select(i => limiter.RunAsync(async () =>
        {
            lock (started)
            {
                started.Add(i);
                maxRunning = Math.Max(maxRunning, ++running);
            }

            startedSignal.Release();

            await gates[i].Task;
            lock (started)
            {
                running--;
            }
        })).ToArray();

        await WaitForStarts(2);
        Assert.Equal([0, 1], Snapshot());
        gates[0].SetResult();
        await writes[0];
        await WaitForStarts(1);
        Assert.Equal([0, 1, 2], Snapshot());

        foreach (var gate in gates[1..])
        {
            gate.SetResult();
        }

        await Task.WhenAll(writes);
        Assert.Equal([0, 1, 2, 3, 4], Snapshot());
        Assert.Equal(2, maxRunning);

        async Task WaitForStarts(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await startedSignal.WaitAsync(TimeSpan.FromSeconds(10)));
            }
        }

        List<int> Snapshot()
        {
            lock (started)
            {
                return [.. started];
            }
        }
    }

    [Fact]
    public async Task A_failed_write_frees_its_slot_and_its_error_reaches_the_caller()
    {
        var limiter = new SnapshotWriteLimiter(Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxSnapshotWritesInFlight = 1 }));
        await Assert.ThrowsAsync<InvalidOperationException>(() => limiter.RunAsync(() => throw new InvalidOperationException("table down")));
        var ran = false;
        await limiter.RunAsync(() => { ran = true; return Task.CompletedTask; }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(ran);
    }

    [Fact]
    public async Task A_write_still_waiting_for_a_slot_when_its_token_is_cancelled_never_runs()
    {
        var limiter = new SnapshotWriteLimiter(Microsoft.Extensions.Options.Options.Create(new JournalOptions { MaxSnapshotWritesInFlight = 1 }));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = limiter.RunAsync(() => gate.Task);
        using var deadline = new CancellationTokenSource();
        var waitingRan = false;
        var waiting = limiter.RunAsync(() => { waitingRan = true; return Task.CompletedTask; }, deadline.Token);

        deadline.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        gate.SetResult();
        await first;
        var nextRan = false;
        await limiter.RunAsync(() => { nextRan = true; return Task.CompletedTask; }).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(waitingRan);
        Assert.True(nextRan);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1_025)]
    public void The_bound_is_validated(int value) =>
        Assert.Contains(new JournalOptions { MaxSnapshotWritesInFlight = value }.Validate(), e => e.Contains("MaxSnapshotWritesInFlight", StringComparison.Ordinal));
}
