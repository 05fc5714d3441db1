using System.Collections.Concurrent;

namespace QuotaGrains.Tests.Cluster;

/// <summary>
/// Many members spend from one Space at once, with random generation failures and retried requests whose first
/// reply was "lost". Afterwards DOMAIN.md invariants 1 and 2 must hold exactly.
/// </summary>
[Collection(QuotaClusterCollection.Name)]
public sealed class ConcurrencyTests(QuotaClusterFixture fixture)
{
    private const int Members = 24;
    private const int Flows = 3_500;
    private const int InFlight = 128;
    private const long Allowance = 40_000;

    private static readonly GenerationSpec[] Specs =
    [
        new("ai-shadows"),
        new("virtual-model", MediaKind.Image, ResolutionTier.Hd),
        new("recolor", MediaKind.Image, ResolutionTier.FourK),
        new("ai-video", MediaKind.Video),
        new("background-removal"),
    ];

    [Fact]
    public async Task Concurrent_spending_with_failures_and_retries_keeps_the_ledger_exact()
    {
        var members = Enumerable.Range(0, Members).Select(i => QuotaClusterFixture.NewId($"m{i}")).ToArray();
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Enterprise, members[0], Allowance, members[1..]);

        var committedByUser = new ConcurrentDictionary<string, long>();
        var operations = 0;
        var rejectedForCredits = 0;
        var overdrawn = 0;
        var heldAtEnd = new ConcurrentBag<string>();

        async Task FlowAsync(int flow)
        {
            var random = new Random(1_000 + flow);
            var user = members[random.Next(Members)];
            var grain = fixture.Grains.GetGrain<IUserGrain>(user);
            var spec = Specs[random.Next(Specs.Length)];
            var count = random.Next(1, 6);
            var reserve = new ReserveRequest($"{spaceId}-hold-{flow}", spec, count);

            var reserved = await SendAsync(() => grain.ReserveAsync(spaceId, reserve), random);
            if (!reserved.Succeeded)
            {
                Assert.Equal(RejectionCode.InsufficientCredits, reserved.Rejection!.Code);
                Assert.True(reserved.Rejection.Required > reserved.Rejection.Available);
                Interlocked.Increment(ref rejectedForCredits);
                return;
            }

            if (reserved.IsFree)
            {
                return;
            }

            var pending = Enumerable.Range(0, count).ToList();
            var roll = random.NextDouble();
            if (roll < 0.15)
            {
                // The generation server died: nobody settles; the hold must expire.
                heldAtEnd.Add(reserved.HoldId!);
                return;
            }

            if (roll < 0.35 && count > 1)
            {
                // Some items of the batch fail: refund them on their own first.
                var failedItems = pending.Where(_ => random.NextDouble() < 0.5).ToList();
                if (failedItems.Count > 0)
                {
                    var refund = await SendAsync(() => grain.RefundAsync(spaceId, new SettleRequest($"{reserve.OperationId}-r", reserve.OperationId, failedItems)), random);
                    Assert.True(refund.Succeeded, refund.Rejection?.ToString());
                    Assert.Equal(failedItems.Count * reserved.UnitCredits, refund.RefundedCredits);
                    pending = pending.Except(failedItems).ToList();
                }
            }

            if (pending.Count == 0)
            {
                return;
            }

            if (random.NextDouble() < 0.25)
            {
                // The whole generation failed for a technical reason.
                var refund = await SendAsync(() => grain.RefundAsync(spaceId, new SettleRequest($"{reserve.OperationId}-rall", reserve.OperationId)), random);
                Assert.True(refund.Succeeded, refund.Rejection?.ToString());
                Assert.Equal(pending.Count * reserved.UnitCredits, refund.RefundedCredits);
                return;
            }

            var commit = await SendAsync(() => grain.CommitAsync(spaceId, new SettleRequest($"{reserve.OperationId}-c", reserve.OperationId)), random);
            Assert.True(commit.Succeeded, commit.Rejection?.ToString());
            Assert.Equal(pending.Count * reserved.UnitCredits, commit.CommittedCredits);
            Assert.Equal(0, commit.ItemsPending);
            committedByUser.AddOrUpdate(user, commit.CommittedCredits, (_, total) => total + commit.CommittedCredits);
        }

        // A request whose reply may be "lost": it is sent again with the same operation id, and the replay of an
        // accepted request must be the same outcome, marked as a replay.
        async Task<TResult> SendAsync<TResult>(Func<Task<TResult>> send, Random random)
            where TResult : OperationResult
        {
            var first = await send();
            Interlocked.Increment(ref operations);
            if (random.NextDouble() >= 0.2)
            {
                return first;
            }

            var retried = await send();
            Interlocked.Increment(ref operations);
            if (first.Succeeded && first is not ReserveResult { IsFree: true })
            {
                Assert.True(retried.Replayed);
                Assert.Equal(first with { Replayed = true }, retried);
            }

            // The caller never saw the first reply; it acts on the retry's. (A refused reserve is not remembered,
            // so its retry is decided afresh and may succeed once credits came back.)
            return retried;
        }

        async Task WatchAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var b = await fixture.Quota.GetBalanceAsync(spaceId);
                if (b!.Used + b.Held > b.Allowance)
                {
                    Interlocked.Increment(ref overdrawn);
                }

                await Task.Yield();
            }
        }

        using var stopWatching = new CancellationTokenSource();
        var watcher = Task.Run(() => WatchAsync(stopWatching.Token));
        using (var gate = new SemaphoreSlim(InFlight))
        {
            var flows = Enumerable.Range(0, Flows).Select(async flow =>
            {
                await gate.WaitAsync();
                try
                {
                    await FlowAsync(flow);
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(flows);
        }

        stopWatching.Cancel();
        await watcher;

        Assert.True(operations >= 5_000, $"only {operations} operations ran");
        Assert.Equal(0, overdrawn);
        Assert.True(rejectedForCredits > 0, "the workload should exhaust the pool at least once");

        var committed = committedByUser.Values.Sum();
        var beforeExpiry = await fixture.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(committed, beforeExpiry!.Used);
        Assert.Equal(heldAtEnd.Count, beforeExpiry.OpenHolds);
        Assert.True(beforeExpiry.Used + beforeExpiry.Held <= beforeExpiry.Allowance);

        // Abandoned holds expire: held returns to zero and nothing more is charged.
        fixture.Time.Advance(TimeSpan.FromMinutes(16));
        var after = await fixture.Quota.GetBalanceAsync(spaceId);
        Assert.Equal(committed, after!.Used);
        Assert.Equal(0, after.Held);
        Assert.Equal(0, after.OpenHolds);

        // The usage page agrees, member by member.
        var usage = (await fixture.Quota.GetUsageAsync(spaceId))![0];
        Assert.Equal(committed, usage.Credits);
        foreach (var (user, credits) in committedByUser)
        {
            Assert.Equal(credits, usage.ByMember[user].Credits);
        }
    }
}
