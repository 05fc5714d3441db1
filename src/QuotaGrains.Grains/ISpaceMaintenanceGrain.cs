namespace QuotaGrains.Grains;

/// <summary>What the engine itself asks of a Space (the renewal index, the journal's retention sweep): not part of the
/// client contract (<see cref="ISpaceGrain"/>).</summary>
[Alias("QuotaGrains.ISpaceMaintenanceGrain")]
internal interface ISpaceMaintenanceGrain : IGrainWithStringKey
{
    /// <summary>Applies every renewal (and hold expiry) due by now and returns once they are durable: how the renewal
    /// index wakes a Space at its renewal instant, so that the renewal is journaled, in the ledger and announced even
    /// when nobody spends. Idempotent: nothing is due twice. <c>null</c> if no such Space.</summary>
    [Alias("RenewDue")]
    Task<RenewalStatus?> RenewDueAsync();

    /// <summary>Writes a snapshot now if anything is not yet in one (used by the journal's retention sweep).</summary>
    [Alias("Snapshot")]
    Task SnapshotAsync();

    /// <summary>Recovers the Space if it is not active, and returns once every notification born from its durable events
    /// is in its outbox (used by the notification recovery sweep after a crash: nobody else may call the Space soon).</summary>
    [Alias("HandOverNotifications")]
    Task HandOverNotificationsAsync();
}
