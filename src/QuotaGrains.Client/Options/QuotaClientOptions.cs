namespace QuotaGrains.Client.Options;

/// <summary>How the client admits and retries calls (section <c>Quota:Client</c>).</summary>
public sealed class QuotaClientOptions
{
    /// <summary>Attempts per request, the first included (default 3). Retries reuse the operation id, so a request
    /// is carried out at most once however often it is sent.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The longest pause between two attempts: <see cref="RetryDelay"/> doubles up to it.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>The pause before the first retry; it doubles for each further retry, up to <see cref="MaxRetryDelay"/>
    /// (default 50 ms).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long after its first attempt a request is still retried, past <see cref="MaxAttempts"/>, while its
    /// failures say that the cluster is changing (default 10 s; 0 = only <see cref="MaxAttempts"/>): a gateway connection
    /// lost, a silo stopping or lost (Orleans rejects the calls a stopping silo still gets, <c>Silo stopping</c>; a call
    /// to a silo that died fails until the cluster declares it dead), an answer that did not come. These end when the
    /// grain is reached where it lives then, so a caller sees nothing of a silo's graceful stop or a rolling restart, and
    /// nothing of a crash that the cluster detects and recovers from within the budget (measured on 3 silo processes:
    /// 2.9–5.4 s from a <c>kill -9</c> to its Spaces served again; <c>ClusterFaultTests</c>). The engine's own fail-closed
    /// answer (storage down: <see cref="QuotaUnavailableException"/> without
    /// <see cref="QuotaUnavailableException.ClusterChanging"/>) is retried <see cref="MaxAttempts"/> times only, so that
    /// it reaches the caller in well under a second. An attempt started within the budget may take up to
    /// <see cref="ResponseTimeout"/>.</summary>
    public TimeSpan RetryBudget { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one attempt waits for the engine's answer when this process reaches the engine through an
    /// Orleans client (default 10 s, against Orleans' 30 s): it sets that client's
    /// <c>ClientMessagingOptions.ResponseTimeout</c>. A call in flight when its gateway connection closes (its silo
    /// died) does not wait for it: it ends at once (<see cref="GatewayLossSignal"/>). This bounds the calls whose answer
    /// is lost while the connection stays open (a silo's host gone silent, a message lost between silos). A call that
    /// is only slow ends then too and is retried with the same operation id, which the engine answers once: 10 s leaves
    /// room for the multi-second stalls of a saturated machine and for the engine's own fail-closed answers (a journal
    /// append gives up after <c>Quota:Journal:AppendTimeout</c>, 5 s), which name their cause. No effect in a silo: its
    /// co-hosted client uses the silo's own messaging options.</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest operation id a caller may supply (default 96): the client derives commit and refund
    /// ids from the hold id, and every id must fit the engine's limit of 128 characters.</summary>
    public int MaxCallerOperationIdLength { get; set; } = 96;

    /// <summary>Calls this client lets into the engine at once while its process is busy (85 % of its processors over
    /// the last 100 ms; 0 = no bound). Further calls wait their turn in arrival order; while it is not busy they go
    /// straight in (see <see cref="CallGate"/>). Unset (the default), the client decides by where it runs: inside a
    /// silo's process (a co-hosted client) 16 per processor, since that process's load is the engine's own; in a
    /// process that reaches the engine through an Orleans client (a generation server) no bound, since that process's
    /// load says nothing about the engine's.</summary>
    public int? MaxConcurrentCallsWhenBusy { get; set; }

    /// <summary>The bound in effect for a client inside a silo's process (<paramref name="inSilo"/>) or outside one.</summary>
    internal int CallBoundWhenBusy(bool inSilo) => MaxConcurrentCallsWhenBusy ?? (inSilo ? 16 * Environment.ProcessorCount : 0);

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (MaxAttempts < 1)
        {
            yield return "MaxAttempts must be at least 1.";
        }

        if (RetryDelay < TimeSpan.Zero)
        {
            yield return "RetryDelay must not be negative.";
        }

        if (RetryBudget < TimeSpan.Zero)
        {
            yield return "RetryBudget must not be negative (0 = only MaxAttempts).";
        }

        if (ResponseTimeout <= TimeSpan.Zero)
        {
            yield return "ResponseTimeout must be positive.";
        }

        if (MaxCallerOperationIdLength is < 1 or > 96)
        {
            yield return "MaxCallerOperationIdLength must be between 1 and 96.";
        }

        if (MaxConcurrentCallsWhenBusy < 0)
        {
            yield return "MaxConcurrentCallsWhenBusy must not be negative (0 = no bound).";
        }
    }
}
