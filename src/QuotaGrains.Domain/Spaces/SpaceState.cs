using System.Runtime.InteropServices;

namespace QuotaGrains.Domain.Spaces;

/// <summary>Everything a Space knows. Changed only by <see cref="SpacePool.Apply"/>; serialized as its snapshot.</summary>
[GenerateSerializer, Alias("QuotaGrains.SpaceState")]
public sealed class SpaceState
{
    [Id(0)] public bool Created { get; set; }

    /// <summary>The sequence number of the last applied event.</summary>
    [Id(1)] public long Sequence { get; set; }

    /// <summary>The instant of the last applied event; the Space's clock never goes back before it.</summary>
    [Id(2)] public DateTimeOffset LastEventAt { get; set; }

    [Id(3)] public PlanTier Plan { get; set; }

    [Id(4)] public long? CustomAllowance { get; set; }

    [Id(5)] public PlanTier? PendingPlan { get; set; }

    [Id(6)] public long? PendingCustomAllowance { get; set; }

    [Id(7)] public BillingCadence Cadence { get; set; }

    /// <summary>The subscription anchor (UTC, whole seconds): renewals keep its day and time of day.</summary>
    [Id(8)] public DateTimeOffset Anchor { get; set; }

    [Id(9)] public DateTimeOffset CycleStart { get; set; }

    [Id(10)] public DateTimeOffset NextRenewal { get; set; }

    [Id(11)] public int CatalogVersion { get; set; }

    [Id(12)] public long Allowance { get; set; }

    [Id(13)] public long Used { get; set; }

    [Id(14)] public long Held { get; set; }

    [Id(15)] public Dictionary<string, SpaceRole> Members { get; set; } = new(StringComparer.Ordinal);

    [Id(16)] public Dictionary<string, Hold> Holds { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Recently carried-out operations, for replay, as a snapshot carries them: a <see cref="SpacePool"/> moves
    /// them into its <see cref="OperationMemory"/> when it loads the state, and a snapshot fills them from
    /// there (<see cref="SpacePool.RecentWindow(long, int)"/>). Empty in a live pool's state.</summary>
    [Id(17)] public Dictionary<string, OperationRecord> Operations { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Holds settled or expired within the retention window, to tell "expired" from "never existed": like
    /// <see cref="Operations"/>, what a snapshot carries; a live pool keeps them in its <see cref="OperationMemory"/>.</summary>
    [Id(18)] public Dictionary<string, ClosedHold> ClosedHolds { get; set; } = new(StringComparer.Ordinal);

    [Id(19)] public UsageLedger CurrentUsage { get; set; } = new();

    /// <summary>Past cycles, newest first, bounded by the history option.</summary>
    [Id(20)] public List<CycleUsage> History { get; set; } = [];

    [Id(21)] public List<UsageNotification> Notifications { get; set; } = [];

    [Id(22)] public string OwnerUserId { get; set; } = "";

    [Id(23)] public DateTimeOffset LastPrunedAt { get; set; }

    /// <summary>Set only on Spaces stored before pools were unified (Max and Ultra had image and video pools).</summary>
    [Id(24)] public LegacyPools? LegacyPools { get; set; }

    /// <summary>The creation instant (UTC, whole seconds): a Free Space renews monthly from it.</summary>
    [Id(25)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Notifications of every kind, oldest first, bounded (SpacePool.Notifications): the Space hands those
    /// after its last hand-over to its outbox. (Id 40: room for other fields below.)</summary>
    [Id(40)] public List<SpaceNotification> RecentNotifications { get; set; } = [];
}

/// <summary>The separate pools of a legacy Space, as stored before unification.</summary>
[GenerateSerializer, Alias("QuotaGrains.LegacyPools")]
public sealed class LegacyPools
{
    [Id(0)] public long ImageAllowance { get; set; }

    [Id(1)] public long ImageUsed { get; set; }

    [Id(2)] public long VideoAllowance { get; set; }

    [Id(3)] public long VideoUsed { get; set; }
}

/// <summary>An open hold. Items are settled one by one; the hold closes when none is pending.</summary>
[GenerateSerializer, Alias("QuotaGrains.Hold")]
public sealed class Hold
{
    [Id(0)] public string HoldId { get; set; } = "";

    [Id(1)] public string UserId { get; set; } = "";

    [Id(2)] public GenerationSpec Spec { get; set; } = new("");

    [Id(3)] public long UnitCredits { get; set; }

    [Id(4)] public HoldItemStatus[] Items { get; set; } = [];

    [Id(5)] public int Pending { get; set; }

    [Id(6)] public DateTimeOffset ReservedAt { get; set; }

    [Id(7)] public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Credits available right after the reserve: a replay answers exactly what the first reply said.</summary>
    [Id(8)] public long AvailableAfterReserve { get; set; }

    public long PendingCredits => Pending * UnitCredits;
}

[GenerateSerializer, Immutable, Alias("QuotaGrains.OperationRecord")]
public sealed record OperationRecord(
    [property: Id(0)] ulong Fingerprint,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] OperationResult Result,
    [property: Id(3)] long Sequence);

[GenerateSerializer, Immutable, Alias("QuotaGrains.ClosedHold")]
public sealed record ClosedHold(
    [property: Id(0)] bool Expired,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] long Sequence);

/// <summary>The running totals of the current cycle.</summary>
[GenerateSerializer, Alias("QuotaGrains.UsageLedger")]
public sealed class UsageLedger
{
    [Id(0)] public long Credits { get; set; }

    [Id(1)] public long Generations { get; set; }

    [Id(2)] public Dictionary<string, UsageTotals> ByMember { get; set; } = new(StringComparer.Ordinal);

    [Id(3)] public Dictionary<string, UsageTotals> ByFeature { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    [Id(4)] public Dictionary<MediaKind, UsageTotals> ByMedia { get; set; } = [];

    [Id(5)] public List<int> ThresholdsCrossed { get; set; } = [];

    /// <summary>A reserve was refused for insufficient credits in this cycle (PoolExhausted, once per cycle).</summary>
    [Id(20)] public bool Exhausted { get; set; }

    public void Add(string userId, GenerationSpec spec, long credits, int generations)
    {
        Credits += credits;
        Generations += generations;
        Accumulate(ByMember, userId, credits, generations);
        Accumulate(ByFeature, spec.Feature.ToLowerInvariant(), credits, generations);
        Accumulate(ByMedia, spec.Media, credits, generations);
    }

    public CycleUsage ToView(DateTimeOffset start, DateTimeOffset end, long allowance) => new(
        start, end, allowance, Credits, Generations,
        new Dictionary<string, UsageTotals>(ByMember), new Dictionary<string, UsageTotals>(ByFeature),
        new Dictionary<MediaKind, UsageTotals>(ByMedia), ThresholdsCrossed.ToArray());

    private static void Accumulate<TKey>(Dictionary<TKey, UsageTotals> totals, TKey key, long credits, int generations)
        where TKey : notnull
    {
        // In place: the totals are values in the dictionary's own entries, so a charge allocates nothing that outlives it.
        ref var total = ref CollectionsMarshal.GetValueRefOrAddDefault(totals, key, out _);
        total = new UsageTotals(total.Credits + credits, total.Generations + generations);
    }
}
