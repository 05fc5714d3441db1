namespace QuotaGrains.Grains.Journal;

/// <summary>A place in a journal stream: segment number and byte offset (always a block boundary).</summary>
[GenerateSerializer, Immutable, Alias("QuotaGrains.JournalPosition")]
internal sealed record JournalPosition(
    [property: Id(0)] string Stream,
    [property: Id(1)] int Segment,
    [property: Id(2)] long Offset)
{
    public string SegmentName => SegmentNameOf(Stream, Segment);

    public static string SegmentNameOf(string stream, int segment) => $"{stream}/{segment:D8}";

    /// <summary>The segment number of a segment name, or -1.</summary>
    public static int SegmentNumberOf(string segmentName)
    {
        var slash = segmentName.LastIndexOf('/');
        return slash >= 0 && int.TryParse(segmentName.AsSpan(slash + 1), out var n) ? n : -1;
    }
}
