using System.Buffers.Binary;
using System.Text;

namespace QuotaGrains.Grains.Journal;

/// <summary>One Space's events from one write: <c>[length][version][space id][first sequence][count][payload]</c>,
/// little-endian. Blocks are records back to back, and an append blob block lands whole or not at all.</summary>
public readonly record struct JournalRecord(string SpaceId, long FirstSequence, int Count, ReadOnlyMemory<byte> Payload)
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

    /// <summary>Every record in <paramref name="data"/> (blocks back to back). Stops at a truncated tail.</summary>
    public static IEnumerable<JournalRecord> DecodeAll(ReadOnlyMemory<byte> data)
    {
        var offset = 0;
        while (data.Length - offset >= FixedHeader)
        {
            var span = data.Span[offset..];
            var length = BinaryPrimitives.ReadInt32LittleEndian(span);
            if (length < FixedHeader - 4 || length > data.Length - offset - 4 || span[4] != Version)
            {
                yield break;
            }

            var idLength = BinaryPrimitives.ReadUInt16LittleEndian(span[5..]);
            var spaceId = Encoding.UTF8.GetString(span.Slice(7, idLength));
            var first = BinaryPrimitives.ReadInt64LittleEndian(span[(7 + idLength)..]);
            var count = BinaryPrimitives.ReadInt32LittleEndian(span[(15 + idLength)..]);
            var payloadStart = offset + 19 + idLength;
            var payloadLength = length + 4 - 19 - idLength;
            yield return new JournalRecord(spaceId, first, count, data.Slice(payloadStart, payloadLength));
            offset += length + 4;
        }
    }
}
