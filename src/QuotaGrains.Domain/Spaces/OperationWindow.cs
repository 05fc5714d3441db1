namespace QuotaGrains.Domain.Spaces;

/// <summary>
/// The operation ids a Space remembers, each with its first outcome, oldest first (see <see cref="IdRing{TValue}"/>).
/// </summary>
/// <remarks>
/// A busy Space records tens of thousands of ids a second and keeps each for up to a day or
/// <see cref="Options.SpaceRulesOptions.MaxRememberedOperations"/> ids: long enough for every one to outlive the
/// youngest generations of the garbage collector, which copies it each time. So an outcome is kept as its fields in
/// the id's slot (a reserve's or a settle's; any other outcome whole) and rebuilt only when a retry asks for it.
/// </remarks>
internal sealed class OperationWindow
{
    private readonly IdRing<Outcome> _ring = new();

    /// <summary>The ids remembered.</summary>
    public int Count => _ring.Count;

    public bool Contains(string operationId) => _ring.Contains(operationId);

    /// <summary>The record of <paramref name="operationId"/>, its outcome rebuilt.</summary>
    public bool TryGet(string operationId, out OperationRecord record)
    {
        var found = _ring.TryGet(operationId, out var entry);
        record = found ? Outcome.Record(entry) : null!;
        return found;
    }

    /// <summary>Remembers an id recorded after every id already here.</summary>
    public void Add(string operationId, OperationRecord record)
    {
        var (outcome, text, whole) = Outcome.Of(operationId, record);
        _ring.Add(operationId, record.Sequence, record.At, outcome, text, whole);
    }

    /// <summary>Forgets the ids older than <paramref name="horizon"/>, then the oldest beyond <paramref name="max"/>.</summary>
    public void Prune(DateTimeOffset horizon, int max) => _ring.Prune(horizon, max);

    public void Clear() => _ring.Clear();

    /// <summary>The ids recorded by events <c>throughSequence - events + 1</c>..<paramref name="throughSequence"/>.</summary>
    public Dictionary<string, OperationRecord> Recent(long throughSequence, int events) =>
        _ring.Recent(throughSequence, events).ToDictionary(o => o.Id, Outcome.Record, StringComparer.Ordinal);

    /// <summary>Every id remembered, oldest first.</summary>
    public IEnumerable<(string OperationId, OperationRecord Record)> All() =>
        _ring.All().Select(o => (o.Id, Outcome.Record(o)));

    private enum Shape : byte
    {
        Whole,
        Command,
        Reserve,
        Settle,
    }

    /// <summary>An outcome's fields: a reserve uses Items, UnitCredits, Credits, ExpiresAt and Available (its hold id is
    /// the operation id, or none for a free one); a settle Credits (committed), Refunded, Items (settled) and Pending (its hold id is the text).</summary>
    private struct Outcome
    {
        public ulong Fingerprint;
        public Shape Shape;
        public bool HasExpiry;
        public bool Free;
        public int Items;
        public int Pending;
        public long UnitCredits;
        public long Credits;
        public long Refunded;
        public long Available;
        public DateTimeOffset ExpiresAt;

        public static (Outcome Outcome, string? Text, OperationResult? Whole) Of(string operationId, OperationRecord record)
        {
            var outcome = new Outcome { Fingerprint = record.Fingerprint };
            switch (record.Result)
            {
                case CommandResult { Rejection: null, Replayed: false }:
                    outcome.Shape = Shape.Command;
                    return (outcome, null, null);
                case ReserveResult { Rejection: null, Replayed: false } reserve when reserve.HoldId is null || reserve.HoldId == operationId:
                    outcome.Shape = Shape.Reserve;
                    outcome.Free = reserve.HoldId is null;
                    outcome.Items = reserve.Items;
                    outcome.UnitCredits = reserve.UnitCredits;
                    outcome.Credits = reserve.Credits;
                    outcome.HasExpiry = reserve.ExpiresAt.HasValue;
                    outcome.ExpiresAt = reserve.ExpiresAt.GetValueOrDefault();
                    outcome.Available = reserve.Available;
                    return (outcome, null, null);
                case SettleResult { Rejection: null, Replayed: false } settle when settle.HoldId.Length > 0:
                    outcome.Shape = Shape.Settle;
                    outcome.Credits = settle.CommittedCredits;
                    outcome.Refunded = settle.RefundedCredits;
                    outcome.Items = settle.ItemsSettled;
                    outcome.Pending = settle.ItemsPending;
                    return (outcome, settle.HoldId, null);
                default:
                    outcome.Shape = Shape.Whole;
                    return (outcome, null, record.Result);
            }
        }

        public static OperationRecord Record(IdRingEntry<Outcome> entry) =>
            new(entry.Value.Fingerprint, entry.At, entry.Value.Result(entry), entry.Sequence);

        private readonly OperationResult Result(IdRingEntry<Outcome> entry) => Shape switch
        {
            Shape.Command => CommandResult.Ok,
            Shape.Reserve => new ReserveResult
            {
                HoldId = Free ? null : entry.Id,
                Items = Items,
                UnitCredits = UnitCredits,
                Credits = Credits,
                ExpiresAt = HasExpiry ? ExpiresAt : null,
                Available = Available,
            },
            Shape.Settle => new SettleResult
            {
                HoldId = entry.Text!,
                CommittedCredits = Credits,
                RefundedCredits = Refunded,
                ItemsSettled = Items,
                ItemsPending = Pending,
            },
            _ => (OperationResult)entry.Attachment!,
        };
    }
}
