using QuotaGrains.LoadTest.Workload;

namespace QuotaGrains.LoadTest.Targets;

/// <summary>The outcome of a reserve as the harness needs it. <see cref="Handle"/> is the target's own hold
/// object (an engine <c>QuotaHold</c>, a Redis hold), passed back to settle.</summary>
public sealed record ReserveOutcome(
    bool Succeeded,
    RejectionCode? Rejection,
    bool Replayed,
    string? HoldId,
    int Items,
    long Credits,
    object? Handle)
{
    public bool IsFree => Succeeded && HoldId is null;

    public static ReserveOutcome Rejected(RejectionCode code) => new(false, code, false, null, 0, 0, null);
}

/// <summary>The outcome of a commit or refund.</summary>
public readonly record struct SettleOutcome(bool Succeeded, RejectionCode? Rejection, bool Replayed, long CommittedCredits, long RefundedCredits, int ItemsSettled, int ItemsPending);

/// <summary>A Space's pool as the audit reads it.</summary>
public readonly record struct PoolView(bool Exists, long Allowance, long Used, long Held, int OpenHolds, long Generations);

/// <summary>Numbers a target knows about itself (storage writes, the server's CPU and memory).</summary>
public sealed record TargetDiagnostics(IReadOnlyDictionary<string, string> Values);

/// <summary>A process the target started on this machine (a silo, Azurite, redis-server), whose CPU and memory the
/// report shows beside the harness's own.</summary>
public sealed record ServerProcess(string Role, int ProcessId);

/// <summary>
/// One system under test. The engine and Redis expose the same semantics: an idempotent reserve by operation id,
/// commit and refund of items, insufficient-credit rejections, and a balance read.
/// </summary>
public interface IQuotaTarget : IAsyncDisposable
{
    /// <summary>E.g. "engine (memory)", "redis (appendfsync always)".</summary>
    string Name { get; }

    /// <summary>Short, for file names and ratio columns: engine-memory, redis-always.</summary>
    string Key { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Creates the workload's Spaces and memberships.</summary>
    Task SetupAsync(WorkloadModel model, Action<int> progress, CancellationToken cancellationToken);

    Task<ReserveOutcome> ReserveAsync(SpaceModel space, string userId, SpecChoice spec, int count, string operationId);

    /// <summary>Settles <paramref name="items"/> (null = every pending item) of a hold from <see cref="ReserveAsync"/>.</summary>
    Task<SettleOutcome> SettleAsync(ReserveOutcome hold, bool commit, IReadOnlyList<int>? items);

    /// <summary>The balance query of the workload: the credits available now (null if there is no such Space).</summary>
    Task<long?> AvailableAsync(SpaceModel space);

    /// <summary>Everything the audit compares: allowance, used, held, open holds and generations charged.</summary>
    Task<PoolView> ReadPoolAsync(SpaceModel space);

    /// <summary>After setup, before the warm-up: lets background work that setup caused finish (e.g. the Space
    /// snapshots that creating thousands of Spaces makes due), so that it does not land in the measured window.
    /// Returns what was waited for, or null.</summary>
    Task<string?> SettleAsync(WorkloadModel model, Action<string> info, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>Called when measuring starts and when it ends, so the target can snapshot its counters.</summary>
    Task MarkAsync(bool measuring);

    Task<TargetDiagnostics> DiagnosticsAsync();

    /// <summary>What the harness's own process holds besides the load generator, e.g. "client" or "silo + client".</summary>
    string HarnessRole => "client";

    /// <summary>The processes the target started and runs on (none when it runs in the harness's process or was
    /// already running); known once <see cref="StartAsync"/> returned.</summary>
    IReadOnlyList<ServerProcess> ServerProcesses => [];
}
