using QuotaGrains.Grains.Ledger;

namespace QuotaGrains.Tests.Storage;

/// <summary>The pages a Space builds as its events become durable, which its next snapshot writes to the ledger.</summary>
public sealed class LedgerPageBuilderTests
{
    [Theory]
    [InlineData(1_000, 200)]
    [InlineData(LedgerPages.MaxPageBytes, 2_000)] // pages of many of the open page's 4 KiB chunks
    public void Entries_fill_contiguous_pages_under_the_limit_and_decode_back_exactly(int maxPageBytes, int count)
    {
        var builder = new LedgerPageBuilder(maxPageBytes);
        var entries = LedgerTestData.Entries(1, count);
        foreach (var entry in entries)
        {
            builder.Add(entry);
        }

        Assert.Equal(count, builder.Count);
        Assert.Equal(entries, builder.Entries());
        var pages = builder.Seal();

        Assert.True(pages.Count > 2, $"{pages.Count} pages");
        Assert.All(pages, p => Assert.InRange(p.Json.Length, 1, maxPageBytes));
        Assert.All(pages.SkipLast(1), p => Assert.True(p.Json.Length > maxPageBytes * 3 / 4, $"a page of {p.Json.Length} bytes closed early"));
        Assert.Equal(entries, pages.SelectMany(p => LedgerPages.Decode(p.Json)));
        Assert.Equal(1, pages[0].FirstSequence);
        Assert.Equal(count, pages[^1].LastSequence);
        foreach (var (page, next) in pages.Zip(pages.Skip(1)))
        {
            Assert.Equal(page.LastSequence + 1, next.FirstSequence);
        }

        foreach (var page in pages)
        {
            var inside = LedgerPages.Decode(page.Json);
            Assert.Equal(inside.Count, page.Count);
            Assert.Equal((inside[0].Sequence, inside[^1].Sequence), (page.FirstSequence, page.LastSequence));
            Assert.Equal((inside.Min(e => e.At), inside.Max(e => e.At)), (page.EarliestAt, page.LatestAt));
        }
    }

    [Fact]
    public void Sealed_pages_are_released_after_their_write_and_later_entries_stay()
    {
        var builder = new LedgerPageBuilder();
        var entries = LedgerTestData.Entries(1, 30);
        foreach (var entry in entries[..20])
        {
            builder.Add(entry);
        }

        // A snapshot seals what is durable so far; entries that become durable while it writes go into a new page.
        var written = builder.Seal();
        foreach (var entry in entries[20..])
        {
            builder.Add(entry);
        }

        Assert.Equal(entries, builder.Entries());
        Assert.Equal(30, builder.Count);

        builder.Release(written.Count);

        Assert.Equal(10, builder.Count);
        Assert.Equal(entries[20..], builder.Entries());
        var next = Assert.Single(builder.Seal());
        Assert.Equal((21L, 30L, 10), (next.FirstSequence, next.LastSequence, next.Count));
        builder.Release(1);
        Assert.Equal(0, builder.Count);
        Assert.Empty(builder.Entries());
        Assert.Empty(builder.Seal());
    }

    [Fact]
    public void An_entry_that_does_not_follow_the_last_one_is_refused_and_changes_nothing()
    {
        var builder = new LedgerPageBuilder();
        var entries = LedgerTestData.Entries(1, 3);
        builder.Add(entries[0]);
        builder.Add(entries[2]);

        Assert.Throws<ArgumentException>(() => builder.Add(entries[1]));
        Assert.Throws<ArgumentException>(() => builder.Add(entries[2]));

        Assert.Equal(2, builder.Count);
        Assert.Equal([entries[0], entries[2]], builder.Entries());
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.Release(2));
    }

    [Fact]
    public void An_entry_larger_than_a_page_fills_one_alone()
    {
        var builder = new LedgerPageBuilder(maxPageBytes: 300);
        var small = LedgerTestData.Entries(1, 1)[0];
        var large = new LedgerEntry(2, LedgerTestData.Start, "renewed", 100, Detail: new string('x', 500));
        var after = LedgerTestData.Entries(3, 1)[0];
        builder.Add(small);
        builder.Add(large);
        builder.Add(after);

        var pages = builder.Seal();

        Assert.Equal([1, 1, 1], pages.Select(p => p.Count));
        Assert.Equal([small, large, after], pages.SelectMany(p => LedgerPages.Decode(p.Json)));
    }
}
