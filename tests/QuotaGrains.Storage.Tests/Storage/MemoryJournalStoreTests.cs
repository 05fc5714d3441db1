using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Tests.Storage;

public sealed class MemoryJournalStoreTests
{
    [Fact]
    public async Task Blocks_spanning_chunks_read_back_byte_for_byte_from_any_offset()
    {
        var store = new MemoryJournalStore();
        await store.CreateSegmentAsync("s/00000000", CancellationToken.None);
        var random = new Random(7);
        var expected = new List<byte>();
        foreach (var size in new[] { 10, 300_000, 1, 262_143, 700_000, 5 })
        {
            var block = new byte[size];
            random.NextBytes(block);
            await store.AppendAsync("s/00000000", expected.Count, block, CancellationToken.None);
            expected.AddRange(block);
        }

        foreach (var offset in new[] { 0, 9, 10, 262_144, 300_010, 562_154, expected.Count - 5, expected.Count - 1 })
        {
            Assert.Equal(expected.Skip(offset), await store.ReadAsync("s/00000000", offset, int.MaxValue, CancellationToken.None));
            Assert.Equal(expected.Skip(offset).Take(300_000), await store.ReadAsync("s/00000000", offset, 300_000, CancellationToken.None));
        }

        Assert.Empty(await store.ReadAsync("s/00000000", expected.Count, 10, CancellationToken.None));
        await Assert.ThrowsAsync<JournalAppendConflictException>(() => store.AppendAsync("s/00000000", expected.Count - 1, new byte[1], CancellationToken.None));
    }
}
