namespace QuotaGrains.Client;

/// <summary>
/// Tells the client's calls in flight that a gateway connection was lost, so that they end at once (and are retried
/// with the same request) instead of waiting for a response that will not come.
/// </summary>
/// <remarks>
/// The Orleans client keeps a request sent on a gateway connection until its response or its
/// <c>ClientMessagingOptions.ResponseTimeout</c> (30 s by default): when the connection drops, requests still queued
/// are sent elsewhere, but nothing fails those already sent (<c>OutsideRuntimeClient.BreakOutstandingMessagesToSilo</c>,
/// which would, is called only inside a silo, on a membership change). What the client does report is its number of
/// gateway connections (<see cref="IClusterConnectionStatusObserver"/>, from <c>ClientMessageCenter</c> as each
/// connection opens and closes). It does not say which requests went through the lost one, and a request through a
/// live gateway may be bound for a grain on the silo that died; so a loss ends every call in flight. Each is retried
/// with its operation id, which the engine answers once. In a silo (co-hosted client) nothing reports, and calls are
/// not watched.
/// </remarks>
internal sealed class GatewayLossSignal : IClusterConnectionStatusObserver
{
    private CancellationTokenSource _current = new();
    private volatile bool _watching;

    /// <summary>True once a gateway connection was reported: this process reaches the engine through an Orleans client
    /// (a silo's co-hosted client never does).</summary>
    public bool Watching => _watching;

    /// <summary>Cancelled when a gateway connection open at the time is lost.</summary>
    public CancellationToken Token => Volatile.Read(ref _current).Token;

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways > previousNumberOfGateways)
        {
            _watching = true;
        }
        else if (currentNumberOfGateways < previousNumberOfGateways)
        {
            Signal();
        }
    }

    public void NotifyClusterConnectionLost() => Signal();

    private void Signal()
    {
        var lost = Interlocked.Exchange(ref _current, new CancellationTokenSource());

        // The callers' continuations run on the thread pool, not on the connection's thread that reports this. The
        // source is not disposed: calls that took its token may still be registering on it.
        _ = lost.CancelAsync();
    }
}
