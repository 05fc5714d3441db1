using QuotaGrains.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains;

/// <summary>
/// Routes a user's spending to the Space grain, refusing users who are not members without touching the Space.
/// A removed member's commits and refunds are still routed: a hold they opened stays theirs to settle (DOMAIN.md).
/// Reentrant: routing only reads, so a user's calls interleave (a batch of holds is not serialized here).
/// The Space remains the authority: it checks membership again on every reserve, and a hold's owner on every settle.
/// Its state is loaded and written through <see cref="FailClosedGrainStorage"/>: a storage failure reaches the caller
/// as <see cref="QuotaUnavailableException"/>.
/// </summary>
[Reentrant]
internal sealed class UserGrain : Grain, IUserGrain
{
    private readonly IPersistentState<UserState> _storage;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<string, ISpaceGrain> _spaces = new(StringComparer.Ordinal);
    private readonly int _maxIdLength;
    private readonly ILogger<UserGrain> _logger;
    private readonly GrainCallTrace _trace;
    private string? _userId;

    public UserGrain(IPersistentStateFactory stateFactory, IGrainContext grainContext, IOptions<QuotaStorageOptions> storageOptions, QuotaRules rules, GrainCallTrace trace, ILogger<UserGrain> logger)
    {
        _trace = trace;
        _storage = stateFactory.Create<UserState>(grainContext, "user", storageOptions.Value.ProviderName);
        _maxIdLength = rules.Spaces.MaxIdLength;
        _logger = logger;
    }

    /// <summary>Read once: Orleans decodes a grain's string key anew on every read.</summary>
    private string UserId => _userId ??= this.GetPrimaryKeyString();

    // The Space types its own failures; those of the call to it (a timeout, its silo lost, a rejection) are typed here.
    // No closure per call: this is the path of every debit (state as value tuples, static lambdas).
    public Task<ReserveResult> ReserveAsync(string spaceId, ReserveRequest request) =>
        _trace.Handle(GrainCallTrace.UserReserve, UserId, (Grain: this, spaceId, request), static s => s.Grain.Reserve(s.spaceId, s.request));

    public Task<SettleResult> CommitAsync(string spaceId, SettleRequest request) =>
        _trace.Handle(GrainCallTrace.UserCommit, UserId, (Grain: this, spaceId, request), static s => s.Grain.Settle(s.spaceId, s.request, commit: true));

    public Task<SettleResult> RefundAsync(string spaceId, SettleRequest request) =>
        _trace.Handle(GrainCallTrace.UserRefund, UserId, (Grain: this, spaceId, request), static s => s.Grain.Settle(s.spaceId, s.request, commit: false));

    public Task<IReadOnlyList<UserSpace>> GetSpacesAsync()
    {
        IReadOnlyList<UserSpace> spaces = _storage.State.Spaces
            .Where(s => s.Value.Role is not null)
            .Select(s => new UserSpace(s.Key, s.Value.Role!.Value))
            .OrderBy(s => s.SpaceId, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult(spaces);
    }

    public async Task RecordMembershipAsync(string spaceId, SpaceRole? role, long spaceVersion)
    {
        await _writeLock.WaitAsync();
        try
        {
            if (_storage.State.Spaces.TryGetValue(spaceId, out var known) && known.Version >= spaceVersion)
            {
                return;
            }

            // Removals are kept as tombstones (role null) so that a late, older "added" notice cannot resurrect them,
            // and so that the removed user's settles of holds opened before still reach the Space.
            _storage.State.Spaces[spaceId] = new UserMembership(role, spaceVersion);
            await _storage.WriteStateAsync();
        }
        catch (Exception exception) when (exception is QuotaUnavailableException or InconsistentStateException)
        {
            // Memory now holds a membership that may not be stored (and a retried notice of the same version would be
            // skipped), or another activation wrote (ETag conflict): reload from storage. A conflict's exception is the
            // storage provider's, with the SDK's inside: typed here.
            QuotaLog.MembershipWriteFailed(_logger, exception, UserId, spaceId);
            DeactivateOnIdle();
            throw exception as QuotaUnavailableException
                ?? new QuotaUnavailableException($"User '{UserId}': the membership of Space '{spaceId}' could not be recorded; the outcome is unknown.", exception);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Why this user's request for <paramref name="spaceId"/> is not routed, or null. With
    /// <paramref name="formerMembers"/> (settles) a user who was a member and was removed (the tombstone) is routed too,
    /// since holds opened before the removal are still the user's to settle. A user the Space never had is refused here
    /// either way.</summary>
    private Rejection? Refuse(string spaceId, bool formerMembers)
    {
        // Malformed ids are invalid requests (as the Space would say), not a membership question.
        if ((CheckId(spaceId, "SpaceId") ?? CheckId(UserId, "UserId")) is { } invalid)
        {
            return new Rejection(RejectionCode.InvalidRequest, invalid);
        }

        return _storage.State.Spaces.TryGetValue(spaceId, out var membership) && (membership.Role is not null || formerMembers)
            ? null
            : new Rejection(RejectionCode.NotAMember, $"User '{UserId}' is not a member of Space '{spaceId}'.");
    }

    private Task<ReserveResult> Reserve(string spaceId, ReserveRequest request) =>
        Refuse(spaceId, formerMembers: false) is { } rejection
            ? Task.FromResult(ReserveResult.Rejected(rejection))
            : GrainBoundary.GuardAsync(
                _trace.Call(GrainCallTrace.SpaceReserve, spaceId, (Space: Space(spaceId), UserId, request), static s => s.Space.ReserveAsync(s.UserId, s.request)),
                "Routing to Space", spaceId, _logger);

    private Task<SettleResult> Settle(string spaceId, SettleRequest request, bool commit) =>
        Refuse(spaceId, formerMembers: true) is { } rejection
            ? Task.FromResult(SettleResult.Rejected(request?.HoldId ?? "", rejection))
            : GrainBoundary.GuardAsync(
                commit
                    ? _trace.Call(GrainCallTrace.SpaceCommit, spaceId, (Space: Space(spaceId), UserId, request), static s => s.Space.CommitAsync(s.UserId, s.request))
                    : _trace.Call(GrainCallTrace.SpaceRefund, spaceId, (Space: Space(spaceId), UserId, request), static s => s.Space.RefundAsync(s.UserId, s.request)),
                "Routing to Space", spaceId, _logger);

    /// <summary>References are cached next to the memberships: resolving one costs more than the call's routing.</summary>
    private ISpaceGrain Space(string spaceId)
    {
        if (!_spaces.TryGetValue(spaceId, out var space))
        {
            _spaces[spaceId] = space = GrainFactory.GetGrain<ISpaceGrain>(spaceId);
        }

        return space;
    }

    private string? CheckId(string? value, string name) => RequestChecks.Id(value, name, _maxIdLength);
}

[GenerateSerializer, Alias("QuotaGrains.UserState")]
internal sealed class UserState
{
    [Id(0)] public Dictionary<string, UserMembership> Spaces { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("QuotaGrains.UserMembership")]
internal sealed record UserMembership(
    [property: Id(0)] SpaceRole? Role,
    [property: Id(1)] long Version);
