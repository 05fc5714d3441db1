namespace QuotaGrains.Grains.Ledger;

/// <summary>
/// The ledger pages one snapshot write brought: entries <see cref="FirstSequence"/>..<see cref="LastSequence"/>,
/// written by the activation <see cref="Writer"/> just before it wrote the snapshot. Readers see them only once a
/// snapshot names the batch.
/// </summary>
/// <remarks>
/// With two owners (a silo declared dead that still runs), two activations of a Space can hold different events under
/// one sequence number, and only the one whose snapshot write passes the ETag check is right. Its pages are written
/// before that check, as are the loser's, which would otherwise overwrite the winner's rows or stand beside them. So each
/// activation writes under its own <see cref="Writer"/> id, and a page is read only if it lies in a batch a snapshot
/// named: the current snapshot's, or an earlier one recorded in the ledger (<see cref="ILedgerStore.WriteAsync"/>, with
/// the next batch, so before the snapshot that stops naming it). The batches that snapshots name follow each other
/// without overlap, so the batch that holds a page is the first one that ends at or after it.
/// </remarks>
[GenerateSerializer, Immutable, Alias("QuotaGrains.LedgerBatch")]
internal sealed record LedgerBatch(
    [property: Id(0)] string Writer,
    [property: Id(1)] long FirstSequence,
    [property: Id(2)] long LastSequence)
{
    /// <summary>Whether a page of entries <paramref name="first"/>..<paramref name="last"/> written by
    /// <paramref name="writer"/> is one of this batch's (given that this is the first batch ending at or after
    /// <paramref name="last"/>).</summary>
    public bool Holds(string writer, long first, long last) =>
        string.Equals(writer, Writer, StringComparison.Ordinal) && first >= FirstSequence && last <= LastSequence;

    /// <summary>Of two batches (either may be missing), the one that ends first at or after <paramref name="last"/>:
    /// the batch that holds a page ending at <paramref name="last"/>, if a snapshot named one.</summary>
    public static LedgerBatch? FirstEnding(long last, LedgerBatch? a, LedgerBatch? b)
    {
        a = a is not null && a.LastSequence >= last ? a : null;
        b = b is not null && b.LastSequence >= last ? b : null;
        return a is null ? b : b is null || a.LastSequence <= b.LastSequence ? a : b;
    }

    /// <summary>A new activation's writer id: random, so that two activations never share one.</summary>
    public static string NewWriter() => Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()));
}
