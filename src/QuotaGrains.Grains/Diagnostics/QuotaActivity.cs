using System.Diagnostics;

namespace QuotaGrains.Grains.Diagnostics;

/// <summary>The engine's spans (activity source <see cref="SourceName"/>) and the tags it puts on them and on Orleans'
/// grain call spans.</summary>
internal static class QuotaActivity
{
    public const string SourceName = QuotaInstruments.MeterName;

    public const string SpaceId = "quota.space.id";
    public const string OperationId = "quota.operation.id";
    public const string Kind = "quota.kind";
    public const string Outcome = "quota.outcome";
    public const string JournalRecords = "quota.journal.records";
    public const string JournalBytes = "quota.journal.bytes";
    public const string JournalSegment = "quota.journal.segment";
    public const string JournalOffset = "quota.journal.offset";

    /// <summary>A span has one parent: a journal block carries the records of many requests, so its span is a child of
    /// the first sampled one and links the others, up to this many.</summary>
    public const int MaxAppendLinks = 32;

    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>Tags the grain call being served (Orleans' server span, with activity propagation) with what the Space
    /// decided (the caller checks that it is recorded: the Space's id is read only then).</summary>
    public static void TagDecision(Activity current, string spaceId, string kind, object? request, string outcome)
    {
        current.SetTag(SpaceId, spaceId);
        current.SetTag(Kind, kind);
        current.SetTag(OperationId, request switch
        {
            ReserveRequest r => r.OperationId,
            SettleRequest r => r.OperationId,
            CreateSpaceRequest r => r.OperationId,
            AddMemberRequest r => r.OperationId,
            RemoveMemberRequest r => r.OperationId,
            ChangePlanRequest r => r.OperationId,
            _ => null,
        });
        current.SetTag(Outcome, outcome);
    }
}
