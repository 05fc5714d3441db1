using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace QuotaGrains.Diagnostics;

/// <summary>Whether the engine's own calls carry a sampled trace (set by <c>AddSampledTracePropagation()</c>).</summary>
internal sealed class GrainCallTraceOptions
{
    public bool Carry { get; set; }
}

/// <summary>
/// A sampled trace carried across the debit path's grain calls (client → user grain → Space grain) by the engine's own
/// code, with no grain call filter: with any filter registered, Orleans builds an invoker object and two async state
/// machines per call, in and out, whatever the filter does (+6 KB per reserve + commit; benchmarks/RESULTS.md). A call
/// made under a recorded span gets a client span, and its context rides in the request context (<c>traceparent</c>,
/// <c>tracestate</c>, as W3C); the grain that receives a sampled one runs under a server span. Anything else is one
/// check. Spans keep Orleans' names, kinds and source (<c>Microsoft.Orleans.Application</c>).
/// </summary>
internal sealed class GrainCallTrace(IOptions<GrainCallTraceOptions> options)
{
    public const string SourceName = "Microsoft.Orleans.Application";
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    // Orleans' span names for the calls of the debit path (interface without namespace, slash, method).
    public const string UserReserve = "IUserGrain/ReserveAsync";
    public const string UserCommit = "IUserGrain/CommitAsync";
    public const string UserRefund = "IUserGrain/RefundAsync";
    public const string SpaceReserve = "ISpaceGrain/ReserveAsync";
    public const string SpaceCommit = "ISpaceGrain/CommitAsync";
    public const string SpaceRefund = "ISpaceGrain/RefundAsync";

    public static readonly ActivitySource Source = new(SourceName);

    private readonly bool _carry = options.Value.Carry;

    /// <summary>Calls <paramref name="call"/>; under a recorded span, as a traced grain call named <paramref name="name"/>.</summary>
    public Task<TResult> Call<TState, TResult>(string name, string targetId, TState state, Func<TState, Task<TResult>> call) =>
        _carry && Activity.Current is { Recorded: true }
            ? CallTracedAsync(name, targetId, state, call)
            : call(state);

    /// <summary>Runs <paramref name="handle"/>; when the call carries a sampled trace, under a server span.</summary>
    public Task<TResult> Handle<TState, TResult>(string name, string targetId, TState state, Func<TState, Task<TResult>> handle) =>
        _carry && RequestContext.Get(TraceParent) is string traceParent
            ? HandleTracedAsync(name, targetId, traceParent, state, handle)
            : handle(state);

    private static async Task<TResult> CallTracedAsync<TState, TResult>(string name, string targetId, TState state, Func<TState, Task<TResult>> call)
    {
        using var span = Source.StartActivity(name, ActivityKind.Client);
        if (span is not { Recorded: true })
        {
            return await call(state);
        }

        Tag(span, name, targetId);

        // Set inside this async method: the request context of the caller's flow is as it was once this returns.
        RequestContext.Set(TraceParent, span.Id!);
        if (span.TraceStateString is { Length: > 0 } traceState)
        {
            RequestContext.Set(TraceState, traceState);
        }

        return await RunAsync(span, call(state));
    }

    private static async Task<TResult> HandleTracedAsync<TState, TResult>(string name, string targetId, string traceParent, TState state, Func<TState, Task<TResult>> handle)
    {
        // Calls this grain makes continue from its own span, not from its caller's context.
        RequestContext.Remove(TraceParent);
        var traceState = RequestContext.Get(TraceState) as string;
        RequestContext.Remove(TraceState);
        if (!ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent) || (parent.TraceFlags & ActivityTraceFlags.Recorded) == 0)
        {
            return await handle(state);
        }

        using var span = Source.StartActivity(name, ActivityKind.Server, parent);
        if (span is null)
        {
            return await handle(state);
        }

        Tag(span, name, targetId);
        return await RunAsync(span, handle(state));
    }

    private static async Task<TResult> RunAsync<TResult>(Activity span, Task<TResult> work)
    {
        try
        {
            return await work;
        }
        catch (Exception e)
        {
            span.SetStatus(ActivityStatusCode.Error, e.GetType().FullName);
            throw;
        }
    }

    private static void Tag(Activity span, string name, string targetId)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        span.SetTag("rpc.system", "orleans");
        span.SetTag("rpc.service", slash < 0 ? name : name[..slash]);
        span.SetTag("rpc.method", name);
        span.SetTag("rpc.orleans.target_id", targetId);
    }
}
