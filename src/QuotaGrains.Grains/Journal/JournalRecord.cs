using System.Buffers.Binary;
using System.Text;

namespace QuotaGrains.Grains.Journal;

/// <summary>One Space's events from one write: <c>[length][version][space id][first sequence][count][payload]</c>,
/// little-endian. Blocks are records back to back, and an append blob block lands whole or not at all.</summary>
internal readonly record struct JournalRecord(string SpaceId, long FirstSequence, int Count, ReadOnlyMemory<byte> Payload)
{
    private const byte Version = 1;
    private const int FixedHeader = 4 + 1 + 2 + 8 + 4;

    public long LastSequence => FirstSequence + Count - 1;

    public static byte[] Encode(string spaceId, long firstSequence, int count, ReadOnlySpan<byte> payload)
    {
        var idLength = Encoding.UTF8.GetByteCount(spaceId);
        var buffer = new byte[FixedHeader + idLength + payload.Length];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, buffer.Length - 4);
        span[4] = Version;
        BinaryPrimitives.WriteUInt16LittleEndian(span[5..], (ushort)idLength);
        Encoding.UTF8.GetBytes(spaceId, span.Slice(7, idLength));
        BinaryPrimitives.WriteInt64LittleEndian(span[(7 + idLength)..], firstSequence);
        BinaryPrimitives.WriteInt32LittleEndian(span[(15 + idLength)..], count);
        payload.CopyTo(span[(19 + idLength)..]);
        return buffer;
    }

    /// <summary>The record at the start of <paramref name="data"/> and its length in bytes; false if <paramref name="data"/>
    /// holds no whole record there (a tail cut short by a ranged read, or the end).</summary>
    public static bool TryDecode(ReadOnlyMemory<byte> data, out JournalRecord record, out int length)
    {
        record = default;
        length = 0;
        var span = data.Span;
        if (span.Length < FixedHeader)
        {
            return false;
        }

        var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(span);
        if (bodyLength < FixedHeader - 4 || bodyLength > span.Length - 4 || span[4] != Version)
        {
            return false;
        }

        var idLength = BinaryPrimitives.ReadUInt16LittleEndian(span[5..]);
        var spaceId = Encoding.UTF8.GetString(span.Slice(7, idLength));
        var first = BinaryPrimitives.ReadInt64LittleEndian(span[(7 + idLength)..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[(15 + idLength)..]);
        length = bodyLength + 4;
        record = new JournalRecord(spaceId, first, count, data.Slice(19 + idLength, length - 19 - idLength));
        return true;
    }
}
