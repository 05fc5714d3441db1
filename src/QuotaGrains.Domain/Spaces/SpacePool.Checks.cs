namespace QuotaGrains.Domain.Spaces;

/// <summary>Request checks: the fields' own rules (<see cref="RequestChecks"/>) as rejections, the Space's existence,
/// and retries of an operation id.</summary>
public sealed partial class SpacePool
{
    private Rejection? CheckId(string? value, string name) =>
        RequestChecks.Id(value, name, _rules.Spaces.MaxIdLength) is { } problem ? InvalidRejection(problem) : null;

    private Rejection? CheckPlan(PlanTier plan, long? customAllowance) =>
        RequestChecks.Plan(plan, customAllowance, _rules.Spaces.MaxCustomAllowance) is { } problem ? InvalidRejection(problem) : null;

    private Rejection? CheckItemList(IReadOnlyList<int> items) =>
        RequestChecks.ItemList(items, _rules.Spaces.MaxBatchItems) is { } problem ? InvalidRejection(problem) : null;

    private TResult? NotFound<TResult>()
        where TResult : OperationResult =>
        State.Created ? null : Reject<TResult>(new Rejection(RejectionCode.SpaceNotFound, $"Space '{SpaceId}' does not exist."));

    private TResult? Replay<TResult>(string operationId, ulong fingerprint)
        where TResult : OperationResult
    {
        if (!_memory.Operations.TryGet(operationId, out var record))
        {
            return null;
        }

        if (record.Fingerprint == fingerprint && record.Result is TResult first)
        {
            return first with { Replayed = true };
        }

        return Reject<TResult>(new Rejection(RejectionCode.OperationIdReused, $"Operation id '{operationId}' was already used with other parameters."));
    }

    private static Rejection InvalidRejection(string message) => new(RejectionCode.InvalidRequest, message);

    private static TResult Invalid<TResult>(string message)
        where TResult : OperationResult => Reject<TResult>(InvalidRejection(message));

    private static TResult Reject<TResult>(Rejection rejection)
        where TResult : OperationResult
    {
        OperationResult result = typeof(TResult) switch
        {
            var t when t == typeof(ReserveResult) => ReserveResult.Rejected(rejection),
            var t when t == typeof(SettleResult) => SettleResult.Rejected("", rejection),
            _ => CommandResult.Rejected(rejection),
        };
        return (TResult)result;
    }
}
