using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.UsagePage.Access;

/// <summary>The fleet page's credential: HTTP Basic with <c>Quota:UsagePage:OperatorKey</c> as the password (any user
/// name). Compared in constant time over hashes, so neither content nor length leaks through timing.</summary>
internal sealed class OperatorCredential(IOptions<UsagePageOptions> options)
{
    internal const string Realm = "QuotaGrains operators";

    private readonly byte[]? _expected = options.Value is { Enabled: true, OperatorKey: { Length: >= UsagePageOptions.MinOperatorKeyLength } key }
        ? SHA256.HashData(Encoding.UTF8.GetBytes(key))
        : null;

    public bool Allows(HttpRequest request)
    {
        if (_expected is null || !AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header)
            || !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase) || header.Parameter is not { Length: > 0 and <= 1_024 } encoded)
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 && CryptographicOperations.FixedTimeEquals(_expected, SHA256.HashData(Encoding.UTF8.GetBytes(decoded[(colon + 1)..])));
    }
}
