using System.Buffers;
using System.Text.Json;

namespace QuotaGrains.Grains.Ledger;

/// <summary>
/// Ledger entries waiting for the next snapshot, already written as the pages it will store: an open page of JSON being
/// filled, and the pages closed before it. Entries are added in sequence order.
/// </summary>
/// <remarks>
/// A Space keeps its durable events until a snapshot puts them in the ledger, up to <c>SnapshotInterval</c> (30 s) on a
/// quiet Space. Kept as event objects, each one was a reference from old memory to young memory that every young
/// collection scanned, and most of them were copied into the older generations: on 10,000 Spaces in memory, young
/// collections took 176–177 ms with the events kept and 118–134 ms without them. Bytes hold no references; the garbage
/// collector copies them at most and never scans them. The pages are also what a snapshot writes, so it no longer builds
/// them.
/// </remarks>
internal sealed class LedgerPageBuilder(int maxPageBytes = LedgerPages.MaxPageBytes)
{
    // The open page is filled chunk by chunk: a buffer that doubled would copy its bytes again at every step, and each
    // new buffer would be copied once more by the collector.
    private const int ChunkBytes = 4_096;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_entryJson;

    [ThreadStatic]
    private static Utf8JsonWriter? t_entryWriter;

    private readonly List<LedgerPageRow> _closed = [];
    private readonly List<byte[]> _chunks = [];
    private int _closedEntries;
    private int _length;
    private int _openCount;
    private long _openFirst;
    private long _lastSequence;
    private DateTimeOffset _openEarliest;
    private DateTimeOffset _openLatest;

    /// <summary>Entries added and not yet released.</summary>
    public int Count => _closedEntries + _openCount;

    /// <summary>Appends an entry after every entry added before it (its sequence number must be higher).</summary>
    public void Add(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (Count > 0 && entry.Sequence <= _lastSequence)
        {
            throw new ArgumentException($"Ledger entry {entry.Sequence} does not follow entry {_lastSequence}.", nameof(entry));
        }

        var json = Serialize(entry);
        if (_openCount > 0 && _length + 1 + json.Length + 1 > maxPageBytes)
        {
            CloseOpenPage();
        }

        Write([_openCount == 0 ? (byte)'[' : (byte)',']);
        Write(json);
        if (_openCount == 0)
        {
            (_openFirst, _openEarliest, _openLatest) = (entry.Sequence, entry.At, entry.At);
        }
        else
        {
            _openEarliest = entry.At < _openEarliest ? entry.At : _openEarliest;
            _openLatest = entry.At > _openLatest ? entry.At : _openLatest;
        }

        _openCount++;
        _lastSequence = entry.Sequence;
    }

    /// <summary>Closes the open page and returns every page not yet released, oldest first. Entries added afterwards
    /// start a new page.</summary>
    public IReadOnlyList<LedgerPageRow> Seal()
    {
        CloseOpenPage();

        // Until the next entry: a quiet Space keeps no buffer between snapshots.
        _chunks.Clear();
        return _closed.ToArray();
    }

    /// <summary>Forgets the oldest <paramref name="pages"/> pages (a snapshot wrote them).</summary>
    public void Release(int pages)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pages);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pages, _closed.Count);
        for (var i = 0; i < pages; i++)
        {
            _closedEntries -= _closed[i].Count;
        }

        _closed.RemoveRange(0, pages);
    }

    /// <summary>The entries not yet released, in order (decoded: for queries, not for the hot path).</summary>
    public IReadOnlyList<LedgerEntry> Entries()
    {
        var entries = _closed.SelectMany(p => LedgerPages.Decode(p.Json)).ToList();
        if (_openCount > 0)
        {
            entries.AddRange(LedgerPages.Decode(OpenPageJson()));
        }

        return entries;
    }

    /// <summary>The entry's JSON, in a buffer of this thread's that the next entry overwrites.</summary>
    private static ReadOnlySpan<byte> Serialize(LedgerEntry entry)
    {
        var buffer = t_entryJson ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = t_entryWriter ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        JsonSerializer.Serialize(writer, entry, LedgerJson.Default.LedgerEntry);
        return buffer.WrittenSpan;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var used = _length % ChunkBytes;
            if (used == 0 && _length / ChunkBytes == _chunks.Count)
            {
                _chunks.Add(new byte[ChunkBytes]);
            }

            var room = _chunks[_length / ChunkBytes].AsSpan(used);
            var part = Math.Min(room.Length, bytes.Length);
            bytes[..part].CopyTo(room);
            bytes = bytes[part..];
            _length += part;
        }
    }

    /// <summary>The open page's JSON, closed with its ']'.</summary>
    private byte[] OpenPageJson()
    {
        var json = new byte[_length + 1];
        for (var copied = 0; copied < _length; copied += ChunkBytes)
        {
            _chunks[copied / ChunkBytes].AsSpan(0, Math.Min(ChunkBytes, _length - copied)).CopyTo(json.AsSpan(copied));
        }

        json[^1] = (byte)']';
        return json;
    }

    private void CloseOpenPage()
    {
        if (_openCount == 0)
        {
            return;
        }

        _closed.Add(new LedgerPageRow(_openFirst, _lastSequence, _openCount, _openEarliest, _openLatest, OpenPageJson()));
        _closedEntries += _openCount;
        _openCount = 0;
        _length = 0;
    }
}
