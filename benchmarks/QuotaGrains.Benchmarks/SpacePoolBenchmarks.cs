using BenchmarkDotNet.Attributes;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Benchmarks;

/// <summary>
/// A Space's state transition, with no grain around it: <c>Reserve</c> then <c>Commit</c> on a warm pool (advance
/// to now, decide, apply, remember the operation). Each iteration starts from a fresh warm pool, so the pool's
/// remembered operations stay near the warm size instead of growing for the whole run.
/// </summary>
[InvocationCount(20_000)]
public class SpacePoolBenchmarks
{
    private SpacePool _pool = null!;
    private DateTimeOffset _now;
    private int _next;

    /// <summary>Operations the pool already remembers.</summary>
    [Params(1_000)]
    public int Warm { get; set; }

    [IterationSetup]
    public void Setup()
    {
        _pool = WarmPool.Create(Warm);
        _now = WarmPool.Start.AddMinutes(1);
        _next = 0;
    }

    [Benchmark]
    public long Reserve_then_commit()
    {
        _now = _now.AddTicks(10);
        var id = "op-" + _next++;
        var reserved = _pool.Reserve("member-1", new ReserveRequest(id, WarmPool.Spec), _now).Result;
        var committed = _pool.Commit("member-1", new SettleRequest(id + ":c1", reserved.HoldId!), _now).Result;
        return committed.CommittedCredits;
    }

    /// <summary>The same reserve sent again: the replay path (fingerprint, lookup) that makes retries safe.</summary>
    [Benchmark]
    public bool Replayed_reserve()
    {
        var reserved = _pool.Reserve("owner", new ReserveRequest("warm-0", WarmPool.Spec), _now).Result;
        return reserved.Replayed;
    }
}
