using Microsoft.Extensions.Logging;
using QuotaGrains.Grains.Diagnostics;

namespace QuotaGrains.Grains.Boundary;

/// <summary>
/// What may leave a client-facing grain (<see cref="ISpaceGrain"/>, <see cref="IUserGrain"/>): its results,
/// <see cref="QuotaUnavailableException"/>, and an <see cref="ArgumentException"/> (or one of its kind) for bad input,
/// which every client has. A storage SDK's exception would reach a client without that SDK as
/// <see cref="TypeLoadException"/>.
/// </summary>
/// <remarks>
/// Failures are typed where they arise, not by an incoming grain call filter: with any filter registered, Orleans runs
/// every call of every grain through its filter pipeline (<c>GrainMethodInvoker</c>), which added 3.9 KB of allocations
/// to a reserve + commit (15.8 KB) in <c>GrainCallBenchmarks</c>; and a filter would not see the main source anyway, a
/// grain's activation, whose failure Orleans sends to the waiting callers as it is. The sources: the grain storage
/// (<see cref="FailClosedGrainStorage"/>), the journal's reads (<see cref="Journal.JournalReader"/>, which retries them and
/// fails its waiters with text only), the ledger
/// (<see cref="FailClosedLedgerStore"/>), a call to another grain (<see cref="GuardAsync{T}"/>: a timeout, a lost silo,
/// a rejection), and the Space's own failures, which it builds as <see cref="QuotaUnavailableException"/>.
/// </remarks>
internal static class GrainBoundary
{
    /// <summary>Whether <paramref name="exception"/> may leave a client-facing grain as it is.</summary>
    public static bool CrossesAsIs(Exception exception) =>
        exception is QuotaUnavailableException || (exception is ArgumentException && exception.InnerException is null);

    /// <summary>The answer of a call to another grain (<paramref name="what"/> <paramref name="subject"/>, e.g. "Routing
    /// to Space" and its id); any failure that may not cross as it is becomes <see cref="QuotaUnavailableException"/>
    /// naming it, logged here in full. A call already answered costs nothing more.</summary>
    public static Task<T> GuardAsync<T>(Task<T> call, string what, string subject, ILogger logger) =>
        call.IsCompletedSuccessfully ? call : AwaitAsync(call, what, subject, logger);

    /// <inheritdoc cref="GuardAsync{T}(Task{T}, string, string, ILogger)"/>
    public static Task GuardAsync(Task call, string what, string subject, ILogger logger) =>
        call.IsCompletedSuccessfully ? call : AwaitAsync(call, what, subject, logger);

    private static async Task<T> AwaitAsync<T>(Task<T> call, string what, string subject, ILogger logger)
    {
        try
        {
            return await call;
        }
        catch (Exception exception) when (!CrossesAsIs(exception))
        {
            throw Unavailable(exception, what, subject, logger);
        }
    }

    private static async Task AwaitAsync(Task call, string what, string subject, ILogger logger)
    {
        try
        {
            await call;
        }
        catch (Exception exception) when (!CrossesAsIs(exception))
        {
            throw Unavailable(exception, what, subject, logger);
        }
    }

    private static QuotaUnavailableException Unavailable(Exception exception, string what, string subject, ILogger logger)
    {
        QuotaLog.CallFailed(logger, exception, what, subject);
        return new QuotaUnavailableException($"{what} '{subject}' failed; the outcome is unknown. Retry with the same operation id.", exception)
        {
            // A silo stopping (Orleans rejects the calls it still gets, "Silo stopping") or lost: the client retries.
            ClusterChanging = QuotaUnavailableException.IsClusterChange(exception),
        };
    }
}
