using QuotaGrains.Client.Diagnostics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Grain call spans and trace propagation that cost nothing unless the trace is sampled, in place of Orleans'
/// <c>AddActivityPropagation()</c>: its filters start an Activity on every call (OpenTelemetry's sampler answers
/// PropagationData for an unsampled root or remote parent, so an unrecorded Activity, its tags and a traceparent in the
/// request context are built per call). Here a call continues its caller's trace only when the caller's span is
/// recorded; a call without one runs as if no filter were there, so a grain call is never the root of a trace. Spans
/// keep Orleans' names, kinds and source (<c>Microsoft.Orleans.Application</c>).
/// </summary>
public static class SampledTracePropagationExtensions
{
    /// <summary>Adds the outgoing and incoming filters (to a silo's services, or a client's: its outgoing calls carry a
    /// sampled caller's trace to the silo).</summary>
    public static IServiceCollection AddSampledTracePropagation(this IServiceCollection services) =>
        services
            .AddSingleton<IOutgoingGrainCallFilter, SampledOutgoingTraceFilter>()
            .AddSingleton<IIncomingGrainCallFilter, SampledIncomingTraceFilter>();
}
