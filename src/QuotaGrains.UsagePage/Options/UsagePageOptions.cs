using System.Text;

namespace QuotaGrains.UsagePage.Options;

/// <summary>The usage page (section <c>Quota:UsagePage</c>): off unless <see cref="Enabled"/>; with it on, a signing key
/// is required.</summary>
public sealed class UsagePageOptions
{
    public const string SectionName = "Quota:UsagePage";

    /// <summary>Shortest signing key: HS256 needs at least 256 bits.</summary>
    public const int MinSigningKeyBytes = 32;

    public const int MinOperatorKeyLength = 16;

    /// <summary>Serve the page (default off) and issue links.</summary>
    public bool Enabled { get; set; }

    /// <summary>Where the pages are served on the engine's web host (default <c>/usage</c>): a Space's at
    /// <c>{PathPrefix}/space/{id}</c>, the fleet's at <c>{PathPrefix}/fleet</c>.</summary>
    public string PathPrefix { get; set; } = "/usage";

    /// <summary>The HMAC key links are signed with (HS256; at least 32 bytes as UTF-8). A secret: set it from a secret
    /// store (<c>Quota__UsagePage__SigningKey</c>), the same on every silo. Changing it voids every link issued.</summary>
    public string? SigningKey { get; set; }

    /// <summary>The operators' credential for the fleet page (HTTP Basic, any user name, this as the password; at least
    /// 16 characters). Unset: the fleet page answers 401 to everyone.</summary>
    public string? OperatorKey { get; set; }

    /// <summary>The longest lifetime a link may be issued with (default 24 h).</summary>
    public TimeSpan MaxLinkLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How often an open page re-reads its Space's balance for the live numbers (default 500 ms).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Ledger entries per page (default 20).</summary>
    public int LedgerPageSize { get; set; } = 20;

    /// <summary>The prefix without a trailing slash.</summary>
    public string Prefix => PathPrefix.TrimEnd('/');

    /// <summary>Returns the problems with these options, or nothing when they are valid. Off, only the shape is checked.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(PathPrefix) || !PathPrefix.StartsWith('/') || Prefix.Length == 0 || PathPrefix.Contains('?') || PathPrefix.Contains('#')
            || Prefix.StartsWith("/health", StringComparison.OrdinalIgnoreCase) || Prefix.StartsWith("/metrics", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"PathPrefix '{PathPrefix}' must start with '/', name a path below the root, and not be under /health or /metrics.";
        }

        if (MaxLinkLifetime < TimeSpan.FromSeconds(10) || MaxLinkLifetime > TimeSpan.FromDays(31))
        {
            yield return $"MaxLinkLifetime {MaxLinkLifetime} must be between 10 seconds and 31 days.";
        }

        if (RefreshInterval < TimeSpan.FromMilliseconds(100) || RefreshInterval > TimeSpan.FromSeconds(60))
        {
            yield return $"RefreshInterval {RefreshInterval} must be between 100 ms and 60 s.";
        }

        if (LedgerPageSize is < 1 or > LedgerQuery.MaxPageSize)
        {
            yield return $"LedgerPageSize must be between 1 and {LedgerQuery.MaxPageSize}.";
        }

        if (!Enabled)
        {
            yield break;
        }

        // The keys' values are never echoed: a refused secret must not reach the logs.
        if (string.IsNullOrEmpty(SigningKey) || Encoding.UTF8.GetByteCount(SigningKey) < MinSigningKeyBytes)
        {
            yield return $"SigningKey must be set, at least {MinSigningKeyBytes} bytes (HS256), when the usage page is enabled.";
        }

        if (OperatorKey is not null && OperatorKey.Trim().Length < MinOperatorKeyLength)
        {
            yield return $"OperatorKey must have at least {MinOperatorKeyLength} characters (or be unset: no fleet page).";
        }

        if (OperatorKey is not null && SigningKey is not null && string.Equals(OperatorKey, SigningKey, StringComparison.Ordinal))
        {
            yield return "OperatorKey must differ from SigningKey.";
        }
    }
}
