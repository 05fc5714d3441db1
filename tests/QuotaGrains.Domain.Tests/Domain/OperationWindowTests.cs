using QuotaGrains.Domain;
using QuotaGrains.Domain.Spaces;
using Orleans.Serialization;
using Microsoft.Extensions.DependencyInjection;

namespace QuotaGrains.Tests.Domain;

public sealed class OperationWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_kind_of_outcome_comes_back_equal_to_the_one_recorded()
    {
        var window = new OperationWindow();
        OperationResult[] results =
        [
            CommandResult.Ok,
            new ReserveResult { HoldId = "r1", Items = 3, UnitCredits = 40, Credits = 120, ExpiresAt = T0.AddMinutes(10), Available = 880 },
            new ReserveResult { HoldId = "r2", Items = 1, UnitCredits = 5, Credits = 5, ExpiresAt = null, Available = 0 },
            new SettleResult { HoldId = "r1", CommittedCredits = 80, RefundedCredits = 0, ItemsSettled = 2, ItemsPending = 1 },
            new SettleResult { HoldId = "r1", CommittedCredits = 0, RefundedCredits = 40, ItemsSettled = 1, ItemsPending = 0 },
            ReserveResult.Rejected(new Rejection(RejectionCode.InsufficientCredits, "no", 3, 9, T0)),
            new ReserveResult { HoldId = "op-6", Items = 2, UnitCredits = 8, Credits = 16, ExpiresAt = T0.AddMinutes(15), Available = 500 },
            new ReserveResult { HoldId = null, Items = 1, UnitCredits = 0, Credits = 0, ExpiresAt = null, Available = 500 },
        ];
        for (var i = 0; i < results.Length; i++)
        {
            window.Add($"op-{i}", new OperationRecord((ulong)i * 31, T0.AddSeconds(i), results[i], i + 1));
        }

        for (var i = 0; i < results.Length; i++)
        {
            Assert.True(window.TryGet($"op-{i}", out var record));
            Assert.Equal(new OperationRecord((ulong)i * 31, T0.AddSeconds(i), results[i], i + 1), record);
        }

        Assert.False(window.TryGet("op-x", out _));
        Assert.Equal(results.Length, window.Count);
    }

    [Fact]
    public void The_oldest_ids_leave_first_by_age_and_by_count_and_the_order_survives_growth()
    {
        var window = new OperationWindow();
        for (var i = 1; i <= 1_000; i++)
        {
            window.Add($"op-{i}", new OperationRecord(0, T0.AddSeconds(i), CommandResult.Ok, i));
        }

        Assert.Equal(Enumerable.Range(1, 1_000).Select(i => $"op-{i}"), window.All().Select(o => o.OperationId));

        window.Prune(T0.AddSeconds(101), max: 10_000);
        Assert.Equal(900, window.Count);
        Assert.False(window.Contains("op-100"));
        Assert.True(window.Contains("op-101"));

        window.Prune(DateTimeOffset.MinValue, max: 50);
        Assert.Equal(Enumerable.Range(951, 50).Select(i => $"op-{i}"), window.All().Select(o => o.OperationId));

        // Wrapping around the ring and growing again keeps sequence order.
        for (var i = 1_001; i <= 1_200; i++)
        {
            window.Add($"op-{i}", new OperationRecord(0, T0.AddSeconds(i), CommandResult.Ok, i));
        }

        Assert.Equal(Enumerable.Range(951, 250).Select(i => $"op-{i}"), window.All().Select(o => o.OperationId));
    }

    [Fact]
    public void Recent_reads_the_ids_of_the_last_events_up_to_a_sequence()
    {
        var window = new OperationWindow();
        foreach (var sequence in new long[] { 2, 3, 5, 8, 9, 12 })
        {
            window.Add($"op-{sequence}", new OperationRecord(0, T0, CommandResult.Ok, sequence));
        }

        Assert.Equal(["op-5", "op-8", "op-9"], window.Recent(throughSequence: 10, events: 6).Keys.Order());
        Assert.Equal(["op-12"], window.Recent(throughSequence: 12, events: 3).Keys);
        Assert.Empty(window.Recent(throughSequence: 1, events: 100));
    }

    [Fact]
    public void An_id_recorded_again_keeps_only_its_newer_record()
    {
        var window = new OperationWindow();
        window.Add("a", new OperationRecord(1, T0, CommandResult.Ok, 1));
        window.Add("b", new OperationRecord(2, T0, CommandResult.Ok, 2));
        window.Add("a", new OperationRecord(3, T0, CommandResult.Ok, 3));

        Assert.Equal(2, window.Count);
        Assert.Equal(["b", "a"], window.All().Select(o => o.OperationId));
        Assert.True(window.TryGet("a", out var record));
        Assert.Equal(3UL, record.Fingerprint);

        window.Prune(DateTimeOffset.MinValue, max: 1);
        Assert.Equal(["a"], window.All().Select(o => o.OperationId));
    }

    [Fact]
    public void A_pool_loaded_from_its_snapshot_answers_retries_of_the_ids_the_snapshot_kept()
    {
        using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer<SpaceState>>();
        var pool = new SpacePool("space-1", new SpaceState(), QuotaRules.Default);
        Assert.True(pool.Create(new CreateSpaceRequest("create", "owner", PlanTier.Pro), T0).Result.Succeeded);
        var holds = new List<ReserveResult>();
        for (var i = 0; i < 10; i++)
        {
            holds.Add(pool.Reserve("owner", new ReserveRequest($"r{i}", new GenerationSpec("recolor"), 2), T0).Result);
            Assert.True(pool.Commit("owner", new SettleRequest($"c{i}", holds[^1].HoldId!, [0]), T0).Result.Succeeded);
        }

        // The snapshot keeps the ids of its last 4 events: r8, c8, r9, c9.
        var snapshot = serializer.Deserialize(serializer.SerializeToArray(pool.State))!;
        Assert.Empty(snapshot.Operations);
        (snapshot.Operations, snapshot.ClosedHolds) = pool.RecentWindow(4);
        var loaded = new SpacePool("space-1", serializer.Deserialize(serializer.SerializeToArray(snapshot))!, QuotaRules.Default);

        Assert.Equal(4, loaded.Operations.Count);
        Assert.Empty(loaded.State.Operations);
        var retried = loaded.Reserve("owner", new ReserveRequest("r9", new GenerationSpec("recolor"), 2), T0).Result;
        Assert.Equal(holds[9] with { Replayed = true }, retried);
        Assert.Empty(loaded.Reserve("owner", new ReserveRequest("r9", new GenerationSpec("recolor"), 2), T0).Events);
        var settled = loaded.Commit("owner", new SettleRequest("c8", holds[8].HoldId!, [0]), T0).Result;
        Assert.True(settled.Replayed);
        Assert.Equal(pool.Commit("owner", new SettleRequest("c8", holds[8].HoldId!, [0]), T0).Result, settled);

        // An id the snapshot left out is a new operation again (r7's hold, still open, answers for r7 by itself).
        Assert.False(loaded.Operations.Contains("c7"));
        var reused = loaded.Reserve("owner", new ReserveRequest("c7", new GenerationSpec("recolor"), 2), T0);
        Assert.False(reused.Result.Replayed);
        Assert.Single(reused.Events.OfType<CreditsReserved>());
    }
}
