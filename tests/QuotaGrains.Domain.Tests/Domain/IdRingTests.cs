using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

public sealed class IdRingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Ids_match_exactly_by_their_characters()
    {
        var ring = new IdRing<int>();
        ring.Add("ab", 1, T0, 10);
        ring.Add("ba", 2, T0, 20);
        ring.Add("abc", 3, T0, 30);
        ring.Add("", 4, T0, 40);

        Assert.True(ring.TryGet("ab", out var sequence, out _, out var value));
        Assert.Equal((1L, 10), (sequence, value));
        Assert.True(ring.TryGet("ba", out sequence, out _, out value));
        Assert.Equal((2L, 20), (sequence, value));
        Assert.True(ring.TryGet("", out sequence, out _, out value));
        Assert.Equal((4L, 40), (sequence, value));
        Assert.False(ring.Contains("a"));
        Assert.False(ring.Contains("AB"));
        Assert.False(ring.Contains("abcd"));
        Assert.Equal(4, ring.Count);
    }

    [Fact]
    public void Text_and_attachment_come_back_with_the_id()
    {
        var ring = new IdRing<long>();
        var attachment = new object();
        ring.Add("settle-1", 1, T0, 5, "hold-1");
        ring.Add("reject-1", 2, T0.AddSeconds(1), 6, attachment: attachment);
        ring.Add("plain", 3, T0.AddSeconds(2), 7);

        Assert.True(ring.TryGet("settle-1", out var settle));
        Assert.Equal(new IdRingEntry<long>("settle-1", 1, T0, 5, "hold-1", null), settle);
        Assert.True(ring.TryGet("reject-1", out var reject));
        Assert.Same(attachment, reject.Attachment);
        Assert.Null(reject.Text);
        Assert.Equal(
            [new("settle-1", 1, T0, 5, "hold-1", null), new("reject-1", 2, T0.AddSeconds(1), 6, null, attachment), new("plain", 3, T0.AddSeconds(2), 7, null, null)],
            ring.All());
    }

    [Fact]
    public void An_id_added_again_keeps_only_the_newer_entry_and_its_attachment()
    {
        var ring = new IdRing<int>();
        ring.Add("x", 1, T0, 1, "old", new object());
        ring.Add("y", 2, T0, 2);
        ring.Add("x", 3, T0, 3);

        Assert.True(ring.TryGet("x", out var entry));
        Assert.Equal(new IdRingEntry<int>("x", 3, T0, 3, null, null), entry);
        Assert.Equal(["y", "x"], ring.All().Select(e => e.Id));
        Assert.Equal(2, ring.Count);

        // The replaced slot leaves from the head like any other and takes nothing of the newer entry with it.
        ring.Prune(DateTimeOffset.MinValue, max: 1);
        Assert.Equal(["x"], ring.All().Select(e => e.Id));
        Assert.True(ring.Contains("x"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20)] // windows of hundreds of ids and tens of thousands of characters
    public void Ids_of_every_length_survive_wrapping_and_growth_of_both_rings(int scale)
    {
        // A model beside the ring: ids of 0 to 130 characters, texts on some, pruned by count and by age as they go, so
        // that both rings wrap around many times and grow in the middle of a wrap.
        var random = new Random(7);
        var ring = new IdRing<long>();
        var model = new List<(string Id, long Sequence, DateTimeOffset At, string? Text)>();
        var everyId = new List<string>();
        for (var sequence = 1L; sequence <= 20_000; sequence++)
        {
            var id = $"{sequence}:" + new string((char)('a' + (sequence % 26)), random.Next(0, 128));
            var text = sequence % 3 == 0 ? new string('h', random.Next(1, 40)) : null;
            var at = T0.AddSeconds(sequence);
            ring.Add(id, sequence, at, sequence * 10, text);
            everyId.Add(id);
            model.Add((id, sequence, at, text));

            var max = scale * (sequence < 10_000 ? 40 + (int)(sequence / 100) : 300 - (int)((sequence - 10_000) / 50));
            var horizon = sequence % 500 == 0 ? at.AddSeconds(-20) : DateTimeOffset.MinValue;
            ring.Prune(horizon, max);
            model.RemoveAll(m => m.At < horizon);
            if (model.Count > max)
            {
                model.RemoveRange(0, model.Count - max);
            }

            if (sequence % 997 == 0 || sequence == 20_000)
            {
                Assert.Equal(model.Select(m => new IdRingEntry<long>(m.Id, m.Sequence, m.At, m.Sequence * 10, m.Text, null)), ring.All());
                Assert.All(model, m => Assert.True(ring.TryGet(m.Id, out var found) && found.Sequence == m.Sequence && found.Text == m.Text));
                Assert.False(ring.Contains(model[0].Id[..^1] + "?"));
            }

            Assert.Equal(model.Count, ring.Count);

            // The oldest ids sit where the newest characters wrap around to: check them at every step.
            foreach (var m in model.Take(3))
            {
                Assert.True(ring.TryGet(m.Id, out var oldest) && oldest.Text == m.Text, m.Id);
            }
        }

        // Pruned ids are forgotten, whatever their characters were overwritten with since.
        var kept = model.Select(m => m.Id).ToHashSet();
        Assert.All(everyId.Where(id => !kept.Contains(id)), id => Assert.False(ring.Contains(id)));
    }

    [Fact]
    public void Recent_reads_newest_first_up_to_a_sequence()
    {
        var ring = new IdRing<int>();
        for (var i = 1; i <= 10; i++)
        {
            ring.Add($"op-{i}", i, T0, i);
        }

        Assert.Equal(["op-8", "op-7", "op-6"], ring.Recent(throughSequence: 8, events: 3).Select(e => e.Id));
    }

    [Fact]
    public void Clear_forgets_everything_and_the_ring_is_usable_again()
    {
        var ring = new IdRing<int>();
        ring.Add("a", 1, T0, 1, "t", new object());
        ring.Clear();
        Assert.Equal(0, ring.Count);
        Assert.False(ring.Contains("a"));
        Assert.Empty(ring.All());

        ring.Add("a", 2, T0, 2);
        Assert.True(ring.TryGet("a", out var entry));
        Assert.Equal(new IdRingEntry<int>("a", 2, T0, 2, null, null), entry);
    }
}
