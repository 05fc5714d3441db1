using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.UsagePage.Access;

/// <summary>Who a valid usage page token lets in: one member, one Space, until <see cref="ExpiresAt"/>.</summary>
internal sealed record UsagePageAccess(string SpaceId, string UserId, DateTimeOffset ExpiresAt);

/// <summary>Issues and checks usage page tokens: HS256 JWTs (Microsoft.IdentityModel) for one Space and one member,
/// signed with <c>Quota:UsagePage:SigningKey</c>. Only the engine holds the key.</summary>
internal sealed class UsagePageTokens
{
    internal const string Issuer = "quotagrains";
    internal const string Audience = "quotagrains-usage-page";
    internal const string SpaceClaim = "space";

    /// <summary>Longer is not a token of ours; refused before any parsing.</summary>
    internal const int MaxTokenLength = 2_048;

    /// <summary>Issuer and validator are silos of one engine: their clocks differ by little.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials? _credentials;
    private readonly TokenValidationParameters? _parameters;
    private readonly TimeProvider _time;

    public UsagePageTokens(IOptions<UsagePageOptions> options, TimeProvider time)
    {
        _time = time;
        var value = options.Value;
        if (!value.Enabled || string.IsNullOrEmpty(value.SigningKey) || Encoding.UTF8.GetByteCount(value.SigningKey) < UsagePageOptions.MinSigningKeyBytes)
        {
            return;
        }

        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(value.SigningKey));
        _credentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256);
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Audience,
            IssuerSigningKey = key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateIssuerSigningKey = true,
            ValidateLifetime = true,
            // Our clock (TimeProvider), not the library's.
            LifetimeValidator = (notBefore, expires, _, _) => ValidLifetime(notBefore, expires),
        };
    }

    /// <summary>False when the page is off or has no key: nothing is issued, every token is refused.</summary>
    public bool IsEnabled => _credentials is not null;

    public (string Token, DateTimeOffset ExpiresAt) Issue(string spaceId, string userId, TimeSpan lifetime) =>
        Issue(spaceId, userId, _time.GetUtcNow(), lifetime);

    /// <summary>A token as if issued at <paramref name="issuedAt"/> (the tests make expired ones with it).</summary>
    internal (string Token, DateTimeOffset ExpiresAt) Issue(string spaceId, string userId, DateTimeOffset issuedAt, TimeSpan lifetime)
    {
        if (_credentials is null)
        {
            throw new InvalidOperationException("The usage page is not enabled, or has no signing key.");
        }

        // To the second, as JWT times are.
        var issued = DateTimeOffset.FromUnixTimeSeconds(issuedAt.ToUnixTimeSeconds());
        var expires = issued + TimeSpan.FromSeconds(Math.Ceiling(lifetime.TotalSeconds));
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = issued.UtcDateTime,
            NotBefore = issued.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = _credentials,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = userId,
                [SpaceClaim] = spaceId,
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)),
            },
        });
        return (token, expires);
    }

    /// <summary>Who <paramref name="token"/> lets into <paramref name="spaceId"/>'s page now, or <c>null</c>: missing,
    /// malformed, tampered, signed with another key or algorithm, expired, or for another Space. Why is not told.</summary>
    public async Task<UsagePageAccess?> ValidateAsync(string? token, string spaceId)
    {
        if (_parameters is null || string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return null;
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return null;
        }

        return jwt.TryGetPayloadValue<string>(SpaceClaim, out var space) && string.Equals(space, spaceId, StringComparison.Ordinal)
            && !string.IsNullOrEmpty(jwt.Subject)
            ? new UsagePageAccess(space, jwt.Subject, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero))
            : null;
    }

    /// <summary>Whether <paramref name="access"/> has not expired yet (an open page re-checks it).</summary>
    public bool StillValid(UsagePageAccess access) => _time.GetUtcNow() < access.ExpiresAt + ClockSkew;

    private bool ValidLifetime(DateTime? notBefore, DateTime? expires)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return expires is { } end && now < end + ClockSkew && (notBefore is not { } start || start <= now + ClockSkew);
    }
}
