namespace QuotaGrains.Grains.Options;

/// <summary>The silo-wide journal and the Space snapshots (section <c>Quota:Journal</c>).</summary>
public sealed class JournalOptions
{
    /// <summary>Azure's append-blob limits: 4 MiB a block, 50,000 blocks a blob.</summary>
    public const int AzureMaxBlockBytes = 4 * 1024 * 1024;
    public const int AzureMaxBlocksPerBlob = 50_000;

    /// <summary>The blob container holding journal segments.</summary>
    public string Container { get; set; } = "quota-journal";

    /// <summary>A block holds at most this many bytes (default 1 MiB; at most 4 MiB).</summary>
    public int MaxBlockBytes { get; set; } = 1024 * 1024;

    /// <summary>A block holds at most this many records (default 1,024).</summary>
    public int MaxRecordsPerBlock { get; set; } = 1_024;

    /// <summary>Appends in flight at once (default 2): the journal pipelines blocks at computed offsets. More is not
    /// better on Azurite: it does not process appends in flight in the order they were sent, and a block that arrives
    /// before its predecessor costs a refusal, a length check and a resend (2,000 Spaces uniform, 256 in flight:
    /// 9.9k requests/s with 4, 20.8k with 1, 26.3k with 2; benchmarks/RESULTS.md).</summary>
    public int MaxAppendsInFlight { get; set; } = 2;

    /// <summary>A segment rolls after this many blocks (default 49,000, under the 50,000 limit).</summary>
    public int MaxBlocksPerSegment { get; set; } = 49_000;

    /// <summary>An append that has not been acknowledged by then fails closed (default 5 s).</summary>
    public TimeSpan AppendTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A dirty Space writes a snapshot after this many journaled events (default 2,000)…</summary>
    public int SnapshotEveryEvents { get; set; } = 2_000;

    /// <summary>…or this long after its first unsnapshotted change (default 30 s).</summary>
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A Space past <see cref="SnapshotEveryEvents"/> waits at least this long after its previous snapshot
    /// started (default 250 ms; zero = no wait). A hot Space journals tens of thousands of events a second: one
    /// snapshot per 2,000 was dozens a second, each a copy of its state on the grain's turn that its requests queue
    /// behind, and a Table write. Recovery replays at most this long of such a Space's events beyond the count.
    /// Measured on one hot Space in memory (benchmarks/RESULTS.md): ~60 snapshots/s became 4, p99 15–18 → 11–12 ms.</summary>
    public TimeSpan MinSnapshotSpacing { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Background snapshot writes (periodic, deactivation, sweep) in flight at once across the silo (default 1).
    /// Each is a ledger batch and a Table write: with thousands of Spaces due together, an unbounded wave queues in the
    /// Table service past its timeouts and, on Azurite (one thread for Table and Blob), delays the journal's appends,
    /// which every request waits for. Past the limit they wait here, so a busy silo's snapshot interval stretches to what
    /// the Table service sustains; the snapshot an activation needs before its first append never waits. Measured with
    /// 10,000 uniform Spaces falling due together on Azurite: 1 in flight kept 4–10k requests/s through the wave, 8 fell
    /// to 0.4k (benchmarks/RESULTS.md). On Azure Storage, with more Table throughput than Azurite, raise it.</summary>
    public int MaxSnapshotWritesInFlight { get; set; } = 1;

    /// <summary>How often the retention sweep looks for segments to delete (default 1 min).</summary>
    public TimeSpan RetentionSweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Recovery reads a journal stream in ranged reads of at most this many bytes (default 4 MiB).</summary>
    public int RecoveryReadBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Recovery reads in flight at once across the silo (default 4): one storage account serves every Space
    /// recovering at once. Unbounded, 50 Spaces each downloading a 4 MB tail made Azurite reset the connections.</summary>
    public int MaxRecoveryReadsInFlight { get; set; } = 4;

    /// <summary>Attempts per recovery read before the Spaces waiting on it fail (default 4), with
    /// <see cref="RecoveryRetryDelay"/> doubling between them.</summary>
    public int RecoveryReadAttempts { get; set; } = 4;

    /// <summary>The first pause before a recovery read is tried again (default 200 ms; it doubles, up to 5 s).</summary>
    public TimeSpan RecoveryRetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>What recovery keeps of the streams it read, for the Spaces that will ask next (default 512 MiB). A
    /// stream's records stay cached while Spaces keep asking for them, and are dropped <see cref="RecoveryCacheIdle"/> after
    /// the last ask, or at once when the cache is over this size (the next Space then reads again what it needs).</summary>
    public long RecoveryCacheBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>A stream's cached records are dropped this long after the last Space asked for them (default 1 min).</summary>
    public TimeSpan RecoveryCacheIdle { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Read a crashed silo's stream as soon as the cluster declares it dead, before its Spaces ask (default on):
    /// each of them needs the stream read to its end before it serves.</summary>
    public bool ReadAheadDeadStreams { get; set; } = true;

    /// <summary>Split the read of a crashed silo's stream between the silos that recover from it (default on): each of its
    /// ranged reads is made from the store by one of them, and the others ask that silo for the bytes. Every survivor
    /// needs the whole stream; split, the storage service serves it once in all, not once per survivor.</summary>
    public bool ShareDeadStreamReads { get; set; } = true;

    /// <summary>How long a silo waits for another to give it a range of a dead silo's stream before it reads the range
    /// from the store itself (default 10 s); that silo is then asked nothing more for that stream.</summary>
    public TimeSpan PeerReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (RecoveryReadBytes is < 64 * 1024 or > 64 * 1024 * 1024)
        {
            yield return "RecoveryReadBytes must be between 64 KiB and 64 MiB.";
        }

        if (MaxRecoveryReadsInFlight is < 1 or > 64 || RecoveryReadAttempts is < 1 or > 20)
        {
            yield return "MaxRecoveryReadsInFlight must be between 1 and 64, and RecoveryReadAttempts between 1 and 20.";
        }

        if (PeerReadTimeout <= TimeSpan.Zero || PeerReadTimeout > TimeSpan.FromMinutes(5))
        {
            yield return "PeerReadTimeout must be positive and at most 5 minutes.";
        }

        if (RecoveryRetryDelay < TimeSpan.Zero || RecoveryCacheIdle <= TimeSpan.Zero || RecoveryCacheBytes < 0)
        {
            yield return "RecoveryRetryDelay and RecoveryCacheBytes must not be negative, and RecoveryCacheIdle must be positive.";
        }

        if (string.IsNullOrWhiteSpace(Container))
        {
            yield return "Container is empty.";
        }

        if (MaxBlockBytes is < 4 * 1024 or > AzureMaxBlockBytes)
        {
            yield return $"MaxBlockBytes must be between 4 KiB and {AzureMaxBlockBytes} bytes.";
        }

        if (MaxRecordsPerBlock is < 1 or > 100_000)
        {
            yield return "MaxRecordsPerBlock must be between 1 and 100,000.";
        }

        if (MaxAppendsInFlight is < 1 or > 64)
        {
            yield return "MaxAppendsInFlight must be between 1 and 64.";
        }

        if (MaxSnapshotWritesInFlight is < 1 or > 1_024)
        {
            yield return "MaxSnapshotWritesInFlight must be between 1 and 1,024.";
        }

        if (MaxBlocksPerSegment is < 1 or >= AzureMaxBlocksPerBlob)
        {
            yield return $"MaxBlocksPerSegment must be between 1 and {AzureMaxBlocksPerBlob - 1}.";
        }

        if (AppendTimeout <= TimeSpan.Zero)
        {
            yield return "AppendTimeout must be positive.";
        }

        if (SnapshotEveryEvents < 1)
        {
            yield return "SnapshotEveryEvents must be positive.";
        }

        if (SnapshotInterval <= TimeSpan.Zero || RetentionSweepInterval <= TimeSpan.Zero)
        {
            yield return "SnapshotInterval and RetentionSweepInterval must be positive.";
        }

        if (MinSnapshotSpacing < TimeSpan.Zero || MinSnapshotSpacing >= SnapshotInterval)
        {
            yield return "MinSnapshotSpacing must be zero or more and shorter than SnapshotInterval.";
        }
    }
}
