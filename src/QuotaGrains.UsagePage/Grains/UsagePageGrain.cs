using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using QuotaGrains.UsagePage.Access;
using QuotaGrains.UsagePage.Diagnostics;
using QuotaGrains.UsagePage.Options;

namespace QuotaGrains.UsagePage.Grains;

/// <summary>Issues usage page links in the engine (the signing key stays in the silos). Stateless: a link costs one read
/// of the Space's members and an HMAC.</summary>
[StatelessWorker]
internal sealed class UsagePageGrain(
    UsagePageTokens tokens,
    IOptions<UsagePageOptions> options,
    ILogger<UsagePageGrain> logger) : Grain, IUsagePageGrain
{
    private const int MaxIdLength = 256;

    public async Task<UsagePageLinkResult> CreateLinkAsync(string spaceId, string userId, TimeSpan lifetime)
    {
        if (!tokens.IsEnabled)
        {
            return Refused(RejectionCode.InvalidRequest, "The usage page is not enabled on this engine (Quota:UsagePage:Enabled, SigningKey).");
        }

        if (string.IsNullOrWhiteSpace(spaceId) || string.IsNullOrWhiteSpace(userId) || spaceId.Length > MaxIdLength || userId.Length > MaxIdLength)
        {
            return Refused(RejectionCode.InvalidRequest, "A Space id and a user id are required.");
        }

        var max = options.Value.MaxLinkLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > max)
        {
            return Refused(RejectionCode.InvalidRequest, $"A link's lifetime must be more than zero and at most {max}.");
        }

        var space = GrainFactory.GetGrain<ISpaceGrain>(spaceId);
        var members = await space.GetMembersAsync();
        if (!members.Any(m => string.Equals(m.UserId, userId, StringComparison.Ordinal)))
        {
            return await space.GetBalanceAsync() is null
                ? Refused(RejectionCode.SpaceNotFound, $"No Space '{spaceId}'.")
                : Refused(RejectionCode.NotAMember, $"'{userId}' is not a member of Space '{spaceId}'.");
        }

        var (token, expiresAt) = tokens.Issue(spaceId, userId, lifetime);
        UsagePageLog.LinkIssued(logger, spaceId, userId, expiresAt);
        return new UsagePageLinkResult
        {
            Token = token,
            ExpiresAt = expiresAt,
            Path = UsagePageRoutes.SpacePage(options.Value.Prefix, spaceId, token),
        };
    }

    private static UsagePageLinkResult Refused(RejectionCode code, string message) => UsagePageLinkResult.Rejected(new Rejection(code, message));
}
