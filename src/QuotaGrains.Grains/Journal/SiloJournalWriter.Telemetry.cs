using System.Diagnostics;
using QuotaGrains.Grains.Diagnostics;

namespace QuotaGrains.Grains.Journal;

/// <summary>What the writer tells operators: its gauges' readings, its last failure (the readiness check), and the
/// span of each block append.</summary>
internal sealed partial class SiloJournalWriter
{
    private Exception? _lastAppendFailure;
    private long _lastAppendFailureAt;

    /// <summary>Block appends sent and not yet answered.</summary>
    public int AppendsInFlight => _options.MaxAppendsInFlight - _slots.CurrentCount;

    /// <summary>Why the latest block append failed, or null if it succeeded (or none was made yet).</summary>
    public Exception? LastAppendFailure => Volatile.Read(ref _lastAppendFailure);

    /// <summary>How long ago the latest block append failed (meaningful while <see cref="LastAppendFailure"/> is set).</summary>
    public TimeSpan SinceLastAppendFailure => _runtime.Time.GetElapsedTime(Volatile.Read(ref _lastAppendFailureAt));

    /// <summary>The span of one block append, when a request whose record rides in it is traced and sampled: a child of
    /// the first such request's span (a block serves many Spaces, a span has one parent), with links to the others.
    /// Blocks of untraced requests make no span: the append is not a trace of its own.</summary>
    private static Activity? StartAppendSpan(Block block)
    {
        if (!QuotaActivity.Source.HasListeners())
        {
            return null;
        }

        Activity? parent = null;
        List<ActivityLink>? links = null;
        foreach (var record in block.Records)
        {
            if (record.Caller is not { } caller)
            {
                continue;
            }

            if (parent is null)
            {
                parent = caller;
            }
            else if (caller.TraceId != parent.TraceId && (links ??= []).Count < QuotaActivity.MaxAppendLinks)
            {
                links.Add(new ActivityLink(caller.Context));
            }
        }

        if (parent is null)
        {
            return null;
        }

        var span = QuotaActivity.Source.StartActivity("quota.journal.append", ActivityKind.Client, parent.Context, links: links);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(QuotaActivity.JournalRecords, block.Records.Length);
            span.SetTag(QuotaActivity.JournalBytes, block.Length);
            span.SetTag(QuotaActivity.JournalSegment, block.Segment);
            span.SetTag(QuotaActivity.JournalOffset, block.Offset);
        }

        return span;
    }

    /// <summary>The append is over: remember its failure (or clear the last one) and end its span.</summary>
    private void AppendEnded(Block block, Activity? span)
    {
        if (block.Error is not null)
        {
            Volatile.Write(ref _lastAppendFailureAt, _runtime.Time.GetTimestamp());
        }

        Volatile.Write(ref _lastAppendFailure, block.Error);
        if (span is null)
        {
            return;
        }

        if (block.Error is { } error)
        {
            span.SetStatus(ActivityStatusCode.Error, error.Message);
        }

        span.Dispose();
    }

    /// <summary>The caller's span, if it is recorded: its record's block append becomes part of its trace.</summary>
    private static Activity? RecordedCaller() => Activity.Current is { Recorded: true } current ? current : null;
}
