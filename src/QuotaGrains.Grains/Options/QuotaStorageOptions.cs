namespace QuotaGrains.Grains.Options;

/// <summary>Where Spaces keep their journal, snapshots and ledger, and users their memberships (section
/// <c>Quota:Storage</c>).</summary>
public sealed class QuotaStorageOptions
{
    public const string Memory = "memory";
    public const string Azure = "azure";

    /// <summary><c>memory</c> (the embedded default: same code path, in-memory stores) or <c>azure</c>.</summary>
    public string Kind { get; set; } = Memory;

    /// <summary>For <c>azure</c>: the storage account's connection string (Azurite's works).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The name of the Orleans grain storage provider that holds Space snapshots and user memberships.</summary>
    public string ProviderName { get; set; } = "quota";

    /// <summary>The Azure table of grain state (Space snapshots, user memberships).</summary>
    public string StateTable { get; set; } = "QuotaState";

    /// <summary>The Azure table of the per-Space ledgers.</summary>
    public string LedgerTable { get; set; } = "QuotaLedger";

    /// <summary>One storage request gives up after this long (the SDK retries inside it twice), so that an outage
    /// fails requests closed in bounded time (default 5 s).</summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public bool IsAzure => string.Equals(Kind, Azure, StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (!IsAzure && !string.Equals(Kind, Memory, StringComparison.OrdinalIgnoreCase))
        {
            yield return $"Kind '{Kind}' is not supported; use '{Memory}' or '{Azure}'.";
        }

        if (IsAzure && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return "Kind 'azure' needs a ConnectionString.";
        }

        if (OperationTimeout <= TimeSpan.Zero)
        {
            yield return "OperationTimeout must be positive.";
        }

        if (string.IsNullOrWhiteSpace(ProviderName))
        {
            yield return "ProviderName is empty.";
        }
    }
}
