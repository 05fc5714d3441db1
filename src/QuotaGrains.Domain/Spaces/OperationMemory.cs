using QuotaGrains.Domain.Options;

namespace QuotaGrains.Domain.Spaces;

/// <summary>
/// What a Space remembers of its operations so that a retry gets its first outcome: the operation ids with their
/// outcomes (<see cref="Operations"/>), the holds it closed (<see cref="ClosedHolds"/>, to tell "expired" or "settled"
/// from "never existed"), and the outcome recorded last, which the command that recorded it reads without a lookup.
/// </summary>
/// <remarks>
/// Each id is kept once: the grain's live pool remembers, and its durable copy (which the live pool is ahead of) was
/// handed the memory over (<see cref="HandOver"/>) and remembers nothing (<see cref="Remembers"/> is false). A snapshot
/// carries the recent part of the memory in its state (<see cref="Recent"/>); a pool loading it takes it back
/// (<see cref="From"/>).
/// </remarks>
internal sealed class OperationMemory
{
    private readonly SpaceRulesOptions _rules;
    private string? _lastRecordedId;
    private OperationResult? _lastRecorded;

    private OperationMemory(SpaceRulesOptions rules, OperationWindow operations, IdRing<bool> closedHolds)
    {
        _rules = rules;
        Operations = operations;
        ClosedHolds = closedHolds;
    }

    /// <summary>The operation ids remembered, with their first outcomes.</summary>
    public OperationWindow Operations { get; private set; }

    /// <summary>The holds closed (settled or expired) within the retention window; the value says expired.</summary>
    public IdRing<bool> ClosedHolds { get; private set; }

    /// <summary>False once <see cref="Forget"/> was called: nothing is remembered from then on.</summary>
    public bool Remembers { get; private set; } = true;

    /// <summary>A memory of the ids and closed holds a snapshot carries in <paramref name="state"/>.</summary>
    public static OperationMemory From(SpaceState state, SpaceRulesOptions rules)
    {
        var memory = new OperationMemory(rules, new OperationWindow(), new IdRing<bool>());
        foreach (var (id, record) in state.Operations.OrderBy(o => o.Value.Sequence))
        {
            memory.Operations.Add(id, record);
        }

        foreach (var (id, closed) in state.ClosedHolds.OrderBy(o => o.Value.Sequence))
        {
            memory.ClosedHolds.Add(id, closed.Sequence, closed.At, closed.Expired);
        }

        return memory;
    }

    /// <summary>A memory that takes over everything this one remembers; this one remembers nothing from then on.</summary>
    public OperationMemory HandOver()
    {
        var successor = new OperationMemory(_rules, Operations, ClosedHolds);
        (Operations, ClosedHolds) = (new OperationWindow(), new IdRing<bool>());
        Forget();
        return successor;
    }

    /// <summary>Drops every id and closed hold and remembers none from now on.</summary>
    public void Forget()
    {
        Remembers = false;
        Operations.Clear();
        (_lastRecordedId, _lastRecorded) = (null, null);
        ClosedHolds.Clear();
    }

    /// <summary>Remembers the first outcome of the request <paramref name="e"/> carried out.</summary>
    public void Record(RequestEvent e, OperationResult outcome)
    {
        if (Remembers)
        {
            Operations.Add(e.OperationId, new OperationRecord(e.Fingerprint, e.At, outcome, e.Sequence));
            (_lastRecordedId, _lastRecorded) = (e.OperationId, outcome);
            Operations.Prune(DateTimeOffset.MinValue, _rules.MaxRememberedOperations);
        }
    }

    /// <summary>Remembers a hold closed by event <paramref name="sequence"/>.</summary>
    public void RecordClosedHold(string holdId, long sequence, DateTimeOffset at, bool expired)
    {
        if (Remembers)
        {
            ClosedHolds.Add(holdId, sequence, at, expired);
            ClosedHolds.Prune(DateTimeOffset.MinValue, _rules.MaxRememberedOperations);
        }
    }

    /// <summary>The outcome recorded under <paramref name="operationId"/>, or null: the one recorded last without a
    /// lookup.</summary>
    public OperationResult? OutcomeOf(string? operationId) =>
        _lastRecordedId == operationId ? _lastRecorded! : (Operations.TryGet(operationId!, out var record) ? record.Result : null);

    /// <summary>Forgets the ids and closed holds recorded longer ago than the retention window (the count bound holds at
    /// every record).</summary>
    public void Prune(DateTimeOffset now)
    {
        var horizon = now - _rules.OperationIdRetention;
        Operations.Prune(horizon, _rules.MaxRememberedOperations);
        ClosedHolds.Prune(horizon, _rules.MaxRememberedOperations);
    }

    /// <summary>The ids and closed holds recorded by events <c>throughSequence - events + 1</c>..<paramref name="throughSequence"/>,
    /// as a snapshot carries them. Read from the newest backwards, so that it costs what it returns on a busy Space.</summary>
    public (Dictionary<string, OperationRecord> Operations, Dictionary<string, ClosedHold> ClosedHolds) Recent(long throughSequence, int events) =>
        (Operations.Recent(throughSequence, events),
         ClosedHolds.Recent(throughSequence, events).ToDictionary(h => h.Id, h => new ClosedHold(h.Value, h.At, h.Sequence), StringComparer.Ordinal));
}
