namespace QuotaGrains.Domain.Spaces;

/// <summary>
/// The rules a request's fields follow whatever the Space's state: each check says what is wrong, or null. The Space's
/// pool rejects with these as invalid requests, and a grain that refuses a request before it reaches the Space
/// (<c>UserGrain</c>) with the same words.
/// </summary>
public static class RequestChecks
{
    /// <summary>An id (operation, user, Space, hold) is not blank, at most <paramref name="maxLength"/> characters, and
    /// has no control character.</summary>
    public static string? Id(string? value, string name, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"{name} is empty.";
        }

        if (value.Length > maxLength)
        {
            return $"{name} is longer than {maxLength} characters.";
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return $"{name} contains a control character.";
            }
        }

        return null;
    }

    /// <summary>A reserve asks for 1 to <paramref name="maxBatchItems"/> items.</summary>
    internal static string? Count(int count, int maxBatchItems) =>
        count < 1 || count > maxBatchItems ? $"Count must be between 1 and {maxBatchItems}; it was {count}." : null;

    /// <summary>A settle's item list names 1 to <paramref name="maxBatchItems"/> items, none negative, none twice (null,
    /// all pending items, is not checked here).</summary>
    internal static string? ItemList(IReadOnlyList<int> items, int maxBatchItems)
    {
        if (items.Count == 0 || items.Count > maxBatchItems)
        {
            return $"Items must name between 1 and {maxBatchItems} items, or be null for all pending items.";
        }

        var seen = new HashSet<int>();
        foreach (var index in items)
        {
            if (index < 0)
            {
                return $"Item index {index} is negative.";
            }

            if (!seen.Add(index))
            {
                return $"Item {index} is named twice.";
            }
        }

        return null;
    }

    /// <summary>A known plan; an Enterprise plan with a custom allowance of 1 to <paramref name="maxCustomAllowance"/>,
    /// any other plan without one.</summary>
    internal static string? Plan(PlanTier plan, long? customAllowance, long maxCustomAllowance)
    {
        if (!Enum.IsDefined(plan))
        {
            return $"Unknown plan {(int)plan}.";
        }

        if (plan == PlanTier.Enterprise)
        {
            return customAllowance is null || customAllowance < 1 || customAllowance > maxCustomAllowance
                ? $"An Enterprise plan needs a custom allowance between 1 and {maxCustomAllowance}."
                : null;
        }

        return customAllowance is null ? null : "Only an Enterprise plan takes a custom allowance.";
    }
}
