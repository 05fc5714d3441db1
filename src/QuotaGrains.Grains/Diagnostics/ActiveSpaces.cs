using System.Collections.Concurrent;
using QuotaGrains.Grains.Spaces;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>The Spaces active on this silo, for the gauges that sum over them (<see cref="EngineGauges"/>). A Space
/// joins when its activation recovered and leaves when it deactivates: nothing on the debit path.</summary>
internal sealed class ActiveSpaces
{
    private readonly ConcurrentDictionary<SpaceLog, byte> _spaces = new(ReferenceEqualityComparer.Instance);

    public int Count => _spaces.Count;

    public IEnumerable<SpaceLog> Logs => _spaces.Keys;

    public void Add(SpaceLog log) => _spaces.TryAdd(log, 0);

    public void Remove(SpaceLog log) => _spaces.TryRemove(log, out _);
}
