using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Grains.Journal;

/// <summary>The silo-wide journal as a Space writes to it (<see cref="SiloJournalWriter"/>).</summary>
internal interface IJournalWriter
{
    /// <summary>The end of the last acknowledged block. Every record handed in after reading it lands after it.</summary>
    JournalPosition DurableTail { get; }

    /// <summary>Completes when the Space's events are in an acknowledged block (and every earlier block is too), with
    /// the position of that block's start; fails with <see cref="QuotaUnavailableException"/> when the outcome is unknown.</summary>
    Task<JournalPosition> AppendAsync(string spaceId, IReadOnlyList<SpaceEvent> events);

    /// <summary>The Space wrote a snapshot at <paramref name="position"/>: earlier segments no longer hold it back.</summary>
    void ReleaseBefore(string spaceId, JournalPosition position);
}
