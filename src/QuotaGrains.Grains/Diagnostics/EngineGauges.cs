using System.Diagnostics.Metrics;
using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>
/// The gauges an operator pages on, observed when a reader collects (a scrape, an export), from state the engine keeps
/// anyway: nothing is added to the debit path. Values are of this silo. The per-Space ones sum over the Spaces active
/// here, read without their grain's turn (single words: a scrape may see a Space mid-request, never a torn number).
/// </summary>
internal sealed class EngineGauges : ILifecycleParticipant<ISiloLifecycle>
{
    public EngineGauges(QuotaInstruments instruments, SiloJournalWriter journal, ActiveSpaces spaces, TimeProvider time)
    {
        var meter = instruments.Meter;
        meter.CreateObservableGauge("quota.journal.queue.depth", () => journal.QueueDepth, unit: "{record}",
            description: "Records handed to the journal writer and not yet in a block being appended.");
        meter.CreateObservableGauge("quota.journal.appends.in_flight", () => journal.AppendsInFlight, unit: "{append}",
            description: "Journal block appends sent and not yet answered (at most Quota:Journal:MaxAppendsInFlight).");
        meter.CreateObservableGauge("quota.spaces.active", () => spaces.Count, unit: "{space}",
            description: "Spaces active (in memory) on this silo.");
        meter.CreateObservableGauge("quota.holds.open", () => Sum(spaces, static l => l.Live.State.Holds.Count), unit: "{hold}",
            description: "Holds not yet settled or expired in the Spaces active on this silo.");
        meter.CreateObservableGauge("quota.credits.held", () => Sum(spaces, static l => l.Live.State.Held), unit: "{credit}",
            description: "Credits held by open holds in the Spaces active on this silo.");
        meter.CreateObservableGauge("quota.snapshot.lag.events", () => Sum(spaces, static l => l.UnsnapshottedEvents), unit: "{event}",
            description: "Durable events of the Spaces active on this silo that no snapshot holds yet (what a recovery replays from the journal).");
        meter.CreateObservableGauge("quota.snapshot.lag.age", () => OldestUnsnapshotted(spaces, time), unit: "s",
            description: "Age of the oldest durable event not yet in a snapshot, over the Spaces active on this silo (0 when every Space is snapshotted).");
    }

    public void Participate(ISiloLifecycle lifecycle)
    {
        // Built when the silo resolves its lifecycle participants: the gauges exist from the start.
    }

    private static long Sum(ActiveSpaces spaces, Func<Spaces.SpaceLog, long> value)
    {
        long sum = 0;
        foreach (var log in spaces.Logs)
        {
            sum += value(log);
        }

        return sum;
    }

    private static double OldestUnsnapshotted(ActiveSpaces spaces, TimeProvider time)
    {
        var now = time.GetUtcNow().UtcTicks;
        long oldest = 0;
        foreach (var log in spaces.Logs)
        {
            var since = log.DirtySinceTicks;
            if (since > 0 && now - since > oldest)
            {
                oldest = now - since;
            }
        }

        return TimeSpan.FromTicks(oldest).TotalSeconds;
    }
}
