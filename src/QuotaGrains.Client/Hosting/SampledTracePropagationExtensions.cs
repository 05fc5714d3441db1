using Microsoft.Extensions.DependencyInjection.Extensions;
using QuotaGrains.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Trace propagation that costs nothing unless the trace is sampled, in place of Orleans' <c>AddActivityPropagation()</c>:
/// its filters start an Activity on every call (OpenTelemetry's sampler answers PropagationData for an unsampled root or
/// remote parent, so an unrecorded Activity, its tags and a traceparent in the request context are built per call), and
/// any grain call filter at all makes Orleans build an invoker and two async state machines per call, in and out. Here
/// the engine's own code carries a trace along the debit path (client → user grain → Space grain → journal append) only
/// when the caller's span is recorded, and registers no filter; a call without a recorded caller runs bare, so a grain
/// call is never the root of a trace. Spans keep Orleans' names, kinds and source (<c>Microsoft.Orleans.Application</c>).
/// </summary>
public static class SampledTracePropagationExtensions
{
    /// <summary>Carries sampled traces through the engine's calls (in a silo's services, or a client's: its calls carry a
    /// sampled caller's trace to the silo).</summary>
    public static IServiceCollection AddSampledTracePropagation(this IServiceCollection services)
    {
        services.Configure<GrainCallTraceOptions>(o => o.Carry = true);
        services.TryAddSingleton<GrainCallTrace>();
        return services;
    }
}
