using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Fleet;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Grains.Notifications;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Spaces;

/// <summary>What every <see cref="SpaceLog"/> of a silo shares: the journal (writer, reader, record format), the ledger,
/// the snapshot slots, the rules, the clock, options and instruments.</summary>
internal sealed class SpaceLogServices(
    IJournalWriter journal,
    JournalReader reader,
    SpaceRecordCodec codec,
    ILedgerStore ledger,
    SnapshotWriteLimiter snapshotLimiter,
    QuotaRules rules,
    IOptions<JournalOptions> options,
    TimeProvider time,
    DeepCopier<SpaceState> copier,
    QuotaInstruments instruments,
    ILogger<SpaceLog> logger,
    JournalRuntime? runtime = null,
    INotificationHandover? notifications = null,
    FleetCollector? fleet = null)
{
    /// <summary>Where notifications go once their events are durable: the Space's outbox grain, or nowhere.</summary>
    public INotificationHandover Notifications { get; } = notifications ?? NoHandover.Instance;

    /// <summary>The silo's collector for the fleet view; <c>null</c> without one (a simulation, a test).</summary>
    public FleetCollector? Fleet { get; } = fleet;

    /// <summary>Where background work (a ledger write) runs: the thread pool, or the simulation's scheduler.</summary>
    public JournalRuntime Runtime { get; } = runtime ?? JournalRuntime.Default;

    public IJournalWriter Journal { get; } = journal;

    public JournalReader Reader { get; } = reader;

    public SpaceRecordCodec Codec { get; } = codec;

    public ILedgerStore Ledger { get; } = ledger;

    /// <summary>A new id for an activation's ledger pages (<see cref="LedgerBatch.Writer"/>); unique per activation.</summary>
    public Func<string> NewLedgerWriter { get; init; } = LedgerBatch.NewWriter;

    public SnapshotWriteLimiter SnapshotLimiter { get; } = snapshotLimiter;

    public QuotaRules Rules { get; } = rules;

    public JournalOptions Options { get; } = options.Value;

    public TimeProvider Time { get; } = time;

    public DeepCopier<SpaceState> Copier { get; } = copier;

    public QuotaInstruments Instruments { get; } = instruments;

    public ILogger Logger { get; } = logger;
}

/// <summary>Where a Space's snapshot is kept (Orleans grain storage, for a grain).</summary>
internal interface ISpaceSnapshots
{
    /// <summary>The snapshot as last read or written.</summary>
    SpaceSnapshot Current { get; }

    /// <summary>Writes <paramref name="snapshot"/> (with the storage's ETag check: a conflict means another activation).</summary>
    Task WriteAsync(SpaceSnapshot snapshot);
}
