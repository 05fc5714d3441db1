namespace QuotaGrains.Domain.Spaces;

/// <summary>Request checks: the shape of ids, item lists and plans, the Space's existence, and retries of an operation id.</summary>
public sealed partial class SpacePool
{
    private TResult? Replay<TResult>(string operationId, ulong fingerprint)
        where TResult : OperationResult
    {
        if (!_operations.TryGet(operationId, out var record))
        {
            return null;
        }

        if (record.Fingerprint == fingerprint && record.Result is TResult first)
        {
            return first with { Replayed = true };
        }

        return Reject<TResult>(new Rejection(RejectionCode.OperationIdReused, $"Operation id '{operationId}' was already used with other parameters."));
    }

    private TResult? NotFound<TResult>()
        where TResult : OperationResult =>
        State.Created ? null : Reject<TResult>(new Rejection(RejectionCode.SpaceNotFound, $"Space '{SpaceId}' does not exist."));

    private Rejection? CheckPlan(PlanTier plan, long? customAllowance)
    {
        if (!Enum.IsDefined(plan))
        {
            return InvalidRejection($"Unknown plan {(int)plan}.");
        }

        if (plan == PlanTier.Enterprise)
        {
            return customAllowance is null || customAllowance < 1 || customAllowance > _rules.Spaces.MaxCustomAllowance
                ? InvalidRejection($"An Enterprise plan needs a custom allowance between 1 and {_rules.Spaces.MaxCustomAllowance}.")
                : null;
        }

        return customAllowance is null ? null : InvalidRejection("Only an Enterprise plan takes a custom allowance.");
    }

    private Rejection? CheckId(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return InvalidRejection($"{name} is empty.");
        }

        if (value.Length > _rules.Spaces.MaxIdLength)
        {
            return InvalidRejection($"{name} is longer than {_rules.Spaces.MaxIdLength} characters.");
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return InvalidRejection($"{name} contains a control character.");
            }
        }

        return null;
    }

    private Rejection? CheckItemList(IReadOnlyList<int> items)
    {
        if (items.Count == 0 || items.Count > _rules.Spaces.MaxBatchItems)
        {
            return InvalidRejection($"Items must name between 1 and {_rules.Spaces.MaxBatchItems} items, or be null for all pending items.");
        }

        var seen = new HashSet<int>();
        foreach (var index in items)
        {
            if (index < 0)
            {
                return InvalidRejection($"Item index {index} is negative.");
            }

            if (!seen.Add(index))
            {
                return InvalidRejection($"Item {index} is named twice.");
            }
        }

        return null;
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
