namespace QuotaGrains.Domain.Spaces;

/// <summary>
/// Ids in the order of the sequence numbers that recorded them, each with a struct payload: a ring of slots indexed
/// by id, the oldest leaving from its head. What a Space remembers for a day is stored this way rather than as an
/// object per id: the collector then copies an id's string and nothing else as it ages, and forgetting the oldest
/// ids needs no sort.
/// </summary>
public sealed class IdRing<TValue>
    where TValue : struct
{
    private readonly Dictionary<string, long> _index = new(StringComparer.Ordinal);
    private Slot[] _slots = new Slot[8];
    private long _head;
    private long _tail;

    public int Count => _index.Count;

    public bool Contains(string id) => _index.ContainsKey(id);

    public bool TryGet(string id, out long sequence, out DateTimeOffset at, out TValue value)
    {
        if (!_index.TryGetValue(id, out var position))
        {
            (sequence, at, value) = (0, default, default);
            return false;
        }

        ref var slot = ref _slots[position & (_slots.Length - 1)];
        (sequence, at, value) = (slot.Sequence, slot.At, slot.Value);
        return true;
    }

    /// <summary>Remembers an id recorded after every id already here; the same id again keeps only the newer.</summary>
    public void Add(string id, long sequence, DateTimeOffset at, TValue value)
    {
        if (_index.TryGetValue(id, out var previous))
        {
            _slots[previous & (_slots.Length - 1)].Id = null;
        }

        if (_tail - _head == _slots.Length)
        {
            Grow();
        }

        _slots[_tail & (_slots.Length - 1)] = new Slot { Id = id, Sequence = sequence, At = at, Value = value };
        _index[id] = _tail;
        _tail++;
    }

    /// <summary>Forgets the ids recorded before <paramref name="horizon"/>, then the oldest beyond <paramref name="max"/>.
    /// A Space's clock never runs backwards, so the oldest are at the head; with nothing to forget it returns at once.</summary>
    public void Prune(DateTimeOffset horizon, int max)
    {
        while (_head < _tail)
        {
            ref var slot = ref _slots[_head & (_slots.Length - 1)];
            if (slot.Id is not null && slot.At >= horizon && _index.Count <= max)
            {
                break;
            }

            if (slot.Id is not null)
            {
                _index.Remove(slot.Id);
            }

            slot = default;
            _head++;
        }
    }

    public void Clear()
    {
        _index.Clear();
        _slots = new Slot[8];
        _head = _tail = 0;
    }

    /// <summary>The ids recorded by events <c>throughSequence - events + 1</c>..<paramref name="throughSequence"/>,
    /// newest first: read from the newest backwards, so it costs what it returns.</summary>
    public IEnumerable<(string Id, long Sequence, DateTimeOffset At, TValue Value)> Recent(long throughSequence, int events)
    {
        var cutoff = throughSequence - events;
        for (var position = _tail - 1; position >= _head; position--)
        {
            var slot = _slots[position & (_slots.Length - 1)];
            if (slot.Id is null || slot.Sequence > throughSequence)
            {
                continue;
            }

            if (slot.Sequence <= cutoff)
            {
                yield break;
            }

            yield return (slot.Id, slot.Sequence, slot.At, slot.Value);
        }
    }

    /// <summary>Every id remembered, oldest first.</summary>
    public IEnumerable<(string Id, long Sequence, DateTimeOffset At, TValue Value)> All()
    {
        for (var position = _head; position < _tail; position++)
        {
            var slot = _slots[position & (_slots.Length - 1)];
            if (slot.Id is not null)
            {
                yield return (slot.Id, slot.Sequence, slot.At, slot.Value);
            }
        }
    }

    private void Grow()
    {
        var larger = new Slot[_slots.Length * 2];
        for (var position = _head; position < _tail; position++)
        {
            larger[position & (larger.Length - 1)] = _slots[position & (_slots.Length - 1)];
        }

        _slots = larger;
    }

    private struct Slot
    {
        public string? Id;
        public long Sequence;
        public DateTimeOffset At;
        public TValue Value;
    }
}
