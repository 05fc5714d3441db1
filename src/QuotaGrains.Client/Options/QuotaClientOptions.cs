namespace QuotaGrains.Client.Options;

/// <summary>How the client admits and retries calls (section <c>Quota:Client</c>).</summary>
public sealed class QuotaClientOptions
{
    /// <summary>Attempts per request, the first included (default 3). Retries reuse the operation id, so a request
    /// is carried out at most once however often it is sent.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The pause before the first retry; it doubles for each further retry (default 50 ms).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest operation id a caller may supply (default 96): the client derives commit and refund
    /// ids from the hold id, and every id must fit the engine's limit of 128 characters.</summary>
    public int MaxCallerOperationIdLength { get; set; } = 96;

    /// <summary>Calls this client lets into the engine at once while its process is busy (85 % of its processors over
    /// the last 100 ms; default 16 per processor of this process; 0 = no bound). Further calls wait their turn in
    /// arrival order; while it is not busy they go straight in (see <see cref="CallGate"/>).</summary>
    public int MaxConcurrentCallsWhenBusy { get; set; } = 16 * Environment.ProcessorCount;
}
