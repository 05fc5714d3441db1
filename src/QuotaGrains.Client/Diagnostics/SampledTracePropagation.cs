using System.Diagnostics;

namespace QuotaGrains.Client.Diagnostics;

/// <summary>What the sampled-trace grain call filters share (see <c>AddSampledTracePropagation</c>).</summary>
internal static class SampledTracePropagation
{
    /// <summary>The source of Orleans' application grain call spans, which the tracer already listens to.</summary>
    public const string SourceName = "Microsoft.Orleans.Application";

    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    public static readonly ActivitySource Source = new(SourceName);

    public static void Tag(Activity span, IGrainCallContext context)
    {
        span.SetTag("rpc.system", "orleans");
        span.SetTag("rpc.service", context.InterfaceName);
        span.SetTag("rpc.method", $"{context.InterfaceName}/{context.MethodName}");
        span.SetTag("rpc.orleans.target_id", context.TargetId.ToString());
    }

    public static async Task RunAsync(IGrainCallContext context, Activity span)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception e)
        {
            span.SetStatus(ActivityStatusCode.Error, e.GetType().FullName);
            throw;
        }
        finally
        {
            span.Stop();
        }
    }
}

/// <summary>A call made under a recorded span gets a client span and carries its context; any other call is untouched.</summary>
internal sealed class SampledOutgoingTraceFilter : IOutgoingGrainCallFilter
{
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        if (Activity.Current is not { Recorded: true })
        {
            return context.Invoke();
        }

        var span = SampledTracePropagation.Source.StartActivity(context.Request.GetActivityName(), ActivityKind.Client);
        if (span is not { Recorded: true })
        {
            span?.Stop();
            return context.Invoke();
        }

        SampledTracePropagation.Tag(span, context);
        RequestContext.Set(SampledTracePropagation.TraceParent, span.Id!);
        if (span.TraceStateString is { Length: > 0 } state)
        {
            RequestContext.Set(SampledTracePropagation.TraceState, state);
        }

        return SampledTracePropagation.RunAsync(context, span);
    }
}

/// <summary>A call that carries a sampled trace context gets a server span under it; any other call runs bare (under a
/// parent-based sampler an unsampled remote parent's child is dropped anyway).</summary>
internal sealed class SampledIncomingTraceFilter : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (RequestContext.Get(SampledTracePropagation.TraceParent) is not string traceParent
            || !ActivityContext.TryParse(traceParent, RequestContext.Get(SampledTracePropagation.TraceState) as string, isRemote: true, out var parent)
            || (parent.TraceFlags & ActivityTraceFlags.Recorded) == 0)
        {
            return context.Invoke();
        }

        var span = SampledTracePropagation.Source.StartActivity(context.Request.GetActivityName(), ActivityKind.Server, parent);
        if (span is null)
        {
            return context.Invoke();
        }

        SampledTracePropagation.Tag(span, context);
        return SampledTracePropagation.RunAsync(context, span);
    }
}
