using QuotaGrains.Domain.Fleet;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Grains.Fleet;

/// <summary>
/// One active Space's latest figures for the fleet view, written on the Space's turn after each acknowledged append and
/// taken by the silo's <see cref="FleetCollector"/> at its next report. The cost on the debit path: a short uncontended
/// lock, a few fields copied and a look at the appended events; the slot joins the collector's queue at most once per
/// report (while it waits there, later changes only overwrite the figures). The latest figures are always in the slot,
/// so a Space that goes quiet right after a change is still reported at the next interval.
/// </summary>
internal sealed class FleetSlot(string spaceId, FleetCollector collector)
{
    private readonly Lock _lock = new();
    private PlanTier _plan;
    private long _allowance;
    private long _used;
    private long _held;
    private DateTimeOffset _cycleStart;
    private DateTimeOffset _nextRenewal;
    private long _sequence;
    private DateTimeOffset _changedAt;
    private List<MinuteSpend>? _spent;
    private bool _queued;

    public string SpaceId => spaceId;

    /// <summary>The Space's durable state after an acknowledged append of <paramref name="events"/>.</summary>
    public void Acknowledged(IReadOnlyList<SpaceEvent> events, SpaceState state)
    {
        bool enqueue;
        lock (_lock)
        {
            _plan = state.Plan;
            _allowance = state.Allowance;
            _used = state.Used;
            _held = state.Held;
            _cycleStart = state.CycleStart;
            _nextRenewal = state.NextRenewal;
            _sequence = state.Sequence;
            _changedAt = state.LastEventAt;
            foreach (var e in events)
            {
                if (e is HoldCommitted { Credits: > 0 } c)
                {
                    AddSpend(new MinuteSpend(MinuteSpend.MinuteOf(c.At), c.Credits));
                }
            }

            enqueue = !_queued && state.Created;
            _queued |= enqueue;
        }

        if (enqueue)
        {
            collector.Enqueue(this);
        }
    }

    /// <summary>The figures and the spending since the last take; the slot may be queued again after this.</summary>
    public FleetReport Take()
    {
        lock (_lock)
        {
            var spent = _spent?.ToArray() ?? [];
            _spent = null;
            _queued = false;
            return new FleetReport(spaceId, _plan, _allowance, _used, _held, _cycleStart, _nextRenewal, _sequence, _changedAt, spent);
        }
    }

    /// <summary>A report that could not be sent: its spending goes back into the slot (the figures in the slot are at
    /// least as new), and the slot into the queue.</summary>
    public void Restore(FleetReport report)
    {
        bool enqueue;
        lock (_lock)
        {
            foreach (var spend in report.Spent)
            {
                AddSpend(spend);
            }

            enqueue = !_queued;
            _queued = true;
        }

        if (enqueue)
        {
            collector.Enqueue(this);
        }
    }

    private void AddSpend(MinuteSpend spend)
    {
        _spent ??= [];
        var last = _spent.Count - 1;
        if (last >= 0 && _spent[last].Minute == spend.Minute)
        {
            _spent[last] = spend with { Credits = _spent[last].Credits + spend.Credits };
        }
        else
        {
            _spent.Add(spend);
        }
    }
}
