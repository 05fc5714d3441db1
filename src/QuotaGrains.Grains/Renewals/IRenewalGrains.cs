namespace QuotaGrains.Grains.Renewals;

/// <summary>
/// The renewal clock (one per service, key <see cref="RenewalIndex.ClockKey"/>): driven by an Orleans reminder, it dispatches each
/// minute, a little before it starts, to the index grains of the slots due in it, and keeps the minutes it has
/// completed (and the directory of index grains that hold Spaces) in its state, so that minutes missed while the
/// cluster was down are caught up on its next activation.
/// </summary>
[Alias("QuotaGrains.IRenewalClockGrain")]
internal interface IRenewalClockGrain : IGrainWithStringKey
{
    /// <summary>Activates the clock, registers its reminder if needed and dispatches what is due.</summary>
    [Alias("Start")]
    Task StartAsync();

    /// <summary>Records (durably) that index grain <paramref name="shard"/> of slot <paramref name="slot"/> holds
    /// Spaces, so that the clock wakes it in the slot's minutes.</summary>
    [Alias("Mark")]
    Task MarkAsync(int slot, int shard);

    [Alias("GetStatus")]
    Task<RenewalClockStatus> GetStatusAsync();
}

/// <summary>
/// One shard of one renewal slot's index (key <c>{slot}/{shard}</c>, e.g. <c>m31-2359/7</c>): the Spaces whose
/// renewal schedule falls in that slot, each with the second of the minute it renews at.
/// </summary>
[Alias("QuotaGrains.IRenewalSlotGrain")]
internal interface IRenewalSlotGrain : IGrainWithStringKey
{
    /// <summary>Adds (or updates) a Space; returns once the index is durable. A Space whose next renewal is closer
    /// than the clock's dispatch horizon is also woken for it on a timer of this grain.</summary>
    [Alias("Register")]
    Task RegisterAsync(string spaceId, int second, DateTimeOffset nextRenewal);

    [Alias("Unregister")]
    Task UnregisterAsync(string spaceId);

    /// <summary>Wakes every Space of this index at its own second of <paramref name="minute"/> (at once if that is
    /// past) and returns when all are renewed, durably. Waking the same minute again is harmless.</summary>
    [Alias("Wake"), ResponseTimeout("00:15:00")]
    Task<RenewalWakeReport> WakeAsync(DateTimeOffset minute);

    [Alias("GetSpaces")]
    Task<IReadOnlyDictionary<string, int>> GetSpacesAsync();
}

/// <summary>What the clock has done: every minute before <see cref="DoneThrough"/> is woken; minutes from there to
/// <see cref="DispatchedThrough"/> are in flight or failed (and retried at the next tick).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.RenewalClockStatus")]
internal sealed record RenewalClockStatus(
    [property: Id(0)] DateTimeOffset DoneThrough,
    [property: Id(1)] DateTimeOffset DispatchedThrough,
    [property: Id(2)] int MinutesInFlight,
    [property: Id(3)] int MinutesFailed,
    [property: Id(4)] long Ticks,
    [property: Id(5)] bool ReminderRegistered,
    [property: Id(6)] int IndexGrains);

/// <summary>What waking one index grain for one minute did, Space by Space.</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.RenewalWakeReport")]
internal sealed record RenewalWakeReport(
    [property: Id(0)] int Woken,
    [property: Id(1)] int Renewed,
    [property: Id(2)] int Moved,
    [property: Id(3)] int Missing)
{
    public static readonly RenewalWakeReport None = new(0, 0, 0, 0);

    public RenewalWakeReport Add(RenewalWakeReport other) =>
        new(Woken + other.Woken, Renewed + other.Renewed, Moved + other.Moved, Missing + other.Missing);
}
