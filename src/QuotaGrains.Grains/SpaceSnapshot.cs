using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Grains;

/// <summary>What a Space stores through Orleans grain storage: its durable state, and where in the journal its
/// newer records may be (every record of this Space after the snapshot is at or after that position).</summary>
[GenerateSerializer, Alias("QuotaGrains.SpaceSnapshot")]
internal sealed class SpaceSnapshot
{
    [Id(0)] public SpaceState? State { get; set; }

    [Id(1)] public JournalPosition? JournalFrom { get; set; }

    /// <summary>Written as the activation ended with nothing pending: no record of this Space follows it (the next
    /// activation writes a snapshot before its first append), so recovery need not read the journal at all.</summary>
    [Id(2)] public bool Complete { get; set; }

    /// <summary>The sequence through which the Space's notifications were handed to its outbox: recovery hands over the
    /// rest again (the outbox skips what it has), so a crash between an event and its hand-over loses nothing.</summary>
    [Id(3)] public long NotifiedThrough { get; set; }

    /// <summary>The ledger pages written for this snapshot (or the last batch before it, if it brought none): with this
    /// snapshot written, readers see them (<see cref="LedgerBatch"/>). Null before the first batch.</summary>
    [Id(4)] public LedgerBatch? Ledger { get; set; }
}
