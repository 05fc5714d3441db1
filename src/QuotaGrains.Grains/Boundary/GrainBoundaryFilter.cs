using Microsoft.Extensions.Logging;
using Orleans.Storage;
using QuotaGrains.Grains.Diagnostics;

namespace QuotaGrains.Grains.Boundary;

/// <summary>
/// What a client-facing grain (<see cref="ISpaceGrain"/>, <see cref="IUserGrain"/>) lets out of a call: its results,
/// <see cref="QuotaUnavailableException"/>, and an <see cref="ArgumentException"/> (or one of its kind) for bad input,
/// which every client has. Any other exception (a storage SDK's, a serializer's, the runtime's: a timeout or a lost
/// silo on a call to another grain) is logged here in full and leaves as a <see cref="QuotaUnavailableException"/> that
/// names it: a client without the storage SDK could not even read it (it gets <see cref="TypeLoadException"/>).
/// </summary>
/// <remarks>
/// A call that completes at once costs a type check; only a call still running is awaited here. A failure of the
/// grain's activation (its state cannot be loaded, <c>OnActivateAsync</c> throws) never reaches a filter: Orleans
/// rejects the waiting calls with that exception. <see cref="FailClosedGrainStorage"/> and the journal store type those
/// failures where they arise.
/// </remarks>
internal sealed class GrainBoundaryFilter(ILogger<GrainBoundaryFilter> logger) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        var call = context.Invoke();
        return call.IsCompletedSuccessfully || context.Grain is not (ISpaceGrain or IUserGrain) ? call : GuardAsync(call, context);
    }

    /// <summary>Whether <paramref name="exception"/> may leave a client-facing grain as it is.</summary>
    internal static bool CrossesAsIs(Exception exception) =>
        exception is QuotaUnavailableException || (exception is ArgumentException && exception.InnerException is null);

    private async Task GuardAsync(Task call, IIncomingGrainCallContext context)
    {
        try
        {
            await call;
        }
        catch (Exception exception) when (!CrossesAsIs(exception))
        {
            QuotaLog.CallFailed(logger, exception, context.InterfaceName, context.MethodName, context.TargetId);
            if (exception is InconsistentStateException)
            {
                // Orleans deactivates an activation whose call let this escape (its state is stale); it no longer sees it.
                context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError, "Its grain state is stale (ETag conflict)."));
            }

            throw new QuotaUnavailableException(
                $"{context.InterfaceName}.{context.MethodName} on {context.TargetId} failed; the outcome is unknown. Retry with the same operation id.",
                exception);
        }
    }
}
