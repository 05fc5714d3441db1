using Orleans.Serialization;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Grains.Journal;

/// <summary>A Space's events as a journal record and back: the record's header (<see cref="JournalRecord"/>) and its
/// payload, the events in Orleans' binary format. The journal's format lives here and in <see cref="JournalRecord"/>.</summary>
internal sealed class SpaceRecordCodec(Serializer serializer)
{
    public byte[] Encode(string spaceId, IReadOnlyList<SpaceEvent> events)
    {
        ArgumentOutOfRangeException.ThrowIfZero(events.Count);
        var payload = serializer.SerializeToArray(events as SpaceEvent[] ?? [.. events]);
        return JournalRecord.Encode(spaceId, events[0].Sequence, events.Count, payload);
    }

    public SpaceEvent[] Decode(JournalRecord record) => serializer.Deserialize<SpaceEvent[]>(record.Payload) ?? [];
}
