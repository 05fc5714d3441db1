using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains;

/// <summary>
/// Routes a user's spending to the Space grain, refusing users who are not members without touching the Space.
/// Reentrant: routing only reads, so a user's calls interleave (a batch of holds is not serialized here).
/// The Space remains the authority: it checks membership again on every reserve. Its state is loaded and written through
/// <see cref="FailClosedGrainStorage"/>: a storage failure reaches the caller as <see cref="QuotaUnavailableException"/>.
/// </summary>
[Reentrant]
public sealed class UserGrain : Grain, IUserGrain
{
    private readonly IPersistentState<UserState> _storage;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Dictionary<string, ISpaceGrain> _spaces = new(StringComparer.Ordinal);
    private readonly int _maxIdLength;
    private readonly ILogger<UserGrain> _logger;

    public UserGrain(IPersistentStateFactory stateFactory, IGrainContext grainContext, IOptions<QuotaStorageOptions> storageOptions, QuotaRules rules, ILogger<UserGrain> logger)
    {
        _storage = stateFactory.Create<UserState>(grainContext, new StateConfiguration("user", storageOptions.Value.ProviderName));
        _maxIdLength = rules.Spaces.MaxIdLength;
        _logger = logger;
    }

    private string UserId => this.GetPrimaryKeyString();

    public Task<ReserveResult> ReserveAsync(string spaceId, ReserveRequest request) =>
        RouteAsync(spaceId, ReserveResult.Rejected, space => space.ReserveAsync(UserId, request));

    public Task<SettleResult> CommitAsync(string spaceId, SettleRequest request) =>
        RouteAsync(spaceId, r => SettleResult.Rejected(request?.HoldId ?? "", r), space => space.CommitAsync(UserId, request));

    public Task<SettleResult> RefundAsync(string spaceId, SettleRequest request) =>
        RouteAsync(spaceId, r => SettleResult.Rejected(request?.HoldId ?? "", r), space => space.RefundAsync(UserId, request));

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

            // Removals are kept as tombstones (role null) so that a late, older "added" notice cannot resurrect them.
            _storage.State.Spaces[spaceId] = new UserMembership(role, spaceVersion);
            await _storage.WriteStateAsync();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private Task<TResult> RouteAsync<TResult>(string spaceId, Func<Rejection, TResult> reject, Func<ISpaceGrain, Task<TResult>> call)
        where TResult : OperationResult
    {
        // Malformed ids are invalid requests (as the Space would say), not a membership question.
        if ((CheckId(spaceId, "SpaceId") ?? CheckId(UserId, "UserId")) is { } invalid)
        {
            return Task.FromResult(reject(new Rejection(RejectionCode.InvalidRequest, invalid)));
        }

        if (!_storage.State.Spaces.TryGetValue(spaceId, out var membership) || membership.Role is null)
        {
            return Task.FromResult(reject(new Rejection(RejectionCode.NotAMember, $"User '{UserId}' is not a member of Space '{spaceId}'.")));
        }

        // References are cached next to the memberships: resolving one costs more than the call's routing.
        if (!_spaces.TryGetValue(spaceId, out var space))
        {
            _spaces[spaceId] = space = GrainFactory.GetGrain<ISpaceGrain>(spaceId);
        }

        // The Space types its own failures; those of the call to it (a timeout, its silo lost, a rejection) are typed here.
        return GrainBoundary.GuardAsync(call(space), "Routing to Space", spaceId, _logger);
    }

    private string? CheckId(string? value, string name) =>
        string.IsNullOrWhiteSpace(value) ? $"{name} is empty."
        : value.Length > _maxIdLength ? $"{name} is longer than {_maxIdLength} characters."
        : value.Any(char.IsControl) ? $"{name} contains a control character."
        : null;

    private sealed record StateConfiguration(string StateName, string StorageName) : IPersistentStateConfiguration;
}

[GenerateSerializer, Alias("QuotaGrains.UserState")]
public sealed class UserState
{
    [Id(0)] public Dictionary<string, UserMembership> Spaces { get; set; } = new(StringComparer.Ordinal);
}

[GenerateSerializer, Immutable, Alias("QuotaGrains.UserMembership")]
public sealed record UserMembership(
    [property: Id(0)] SpaceRole? Role,
    [property: Id(1)] long Version);
