using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Boundary;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Renewals;

/// <summary>
/// The renewal index as Spaces see it: which index grain holds a Space (its schedule's <see cref="RenewalSlot"/> and a
/// shard by a stable hash of its id), and registration there. A Space registers once, when it is created; a Space
/// whose schedule changes (a paid plan cancelled to Free renews monthly from creation) is moved by the index grain
/// that wakes it at the renewal where the change took effect.
/// </summary>
internal sealed class RenewalIndex(IGrainFactory grains, IOptions<RenewalOptions> options, ILogger<RenewalIndex> logger)
{
    /// <summary>The key of the one renewal clock grain.</summary>
    public const string ClockKey = "renewals";

    /// <summary>The name of the clock's reminder (one reminder, one reminder row, for the whole service).</summary>
    public const string ClockReminderName = "renewal-clock";

    private readonly RenewalOptions _options = options.Value;

    public bool Enabled => _options.Enabled;

    public int Shards => _options.Shards;

    public static string KeyOf(RenewalSlot slot, int shard) => string.Create(CultureInfo.InvariantCulture, $"{slot}/{shard}");

    public string KeyOf(string spaceId, BillingCadence cadence, DateTimeOffset anchor) => KeyOf(RenewalSlot.Of(cadence, anchor), ShardOf(spaceId));

    /// <summary>FNV-1a over the id's UTF-16 code units: the same shard in every process, forever.</summary>
    public int ShardOf(string spaceId)
    {
        var hash = 2166136261u;
        foreach (var c in spaceId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)_options.Shards);
    }

    /// <summary>Parses an index grain's key (<c>m31-2359/7</c>, <c>w3-0959/0</c>).</summary>
    public static bool TryParseKey(string key, out RenewalSlot slot, out int shard)
    {
        slot = default;
        shard = -1;
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var dash = key.IndexOf('-', StringComparison.Ordinal);
        if (slash < 0 || dash < 2 || dash > slash || slash - dash != 5 || key[0] is not ('m' or 'w')
            || !int.TryParse(key.AsSpan(1, dash - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var day)
            || !int.TryParse(key.AsSpan(dash + 1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hour)
            || !int.TryParse(key.AsSpan(dash + 3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minute)
            || !int.TryParse(key.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out shard)
            || hour > 23 || minute > 59)
        {
            return false;
        }

        if (key[0] == 'm' ? day is < 1 or > 31 : day > 6)
        {
            return false;
        }

        slot = key[0] == 'm' ? RenewalSlot.Monthly(day, (hour * 60) + minute) : RenewalSlot.Weekly(day, (hour * 60) + minute);
        return true;
    }

    /// <summary>Registers a Space's schedule (as its state stands) in the index; a no-op write if it is there.</summary>
    public Task RegisterAsync(string spaceId, SpaceState state) =>
        !Enabled || !state.Created ? Task.CompletedTask : RegisterAsync(spaceId, state.Cadence, state.Anchor, state.NextRenewal);

    public Task RegisterAsync(string spaceId, RenewalStatus status) =>
        !Enabled ? Task.CompletedTask : RegisterAsync(spaceId, status.Cadence, status.Anchor, status.NextRenewal);

    /// <summary>A Space registers as it is created: a failure reaches its caller, as <see cref="QuotaUnavailableException"/>.</summary>
    private Task RegisterAsync(string spaceId, BillingCadence cadence, DateTimeOffset anchor, DateTimeOffset nextRenewal) =>
        GrainBoundary.GuardAsync(
            grains.GetGrain<IRenewalSlotGrain>(KeyOf(spaceId, cadence, anchor)).RegisterAsync(spaceId, RenewalSlot.SecondOf(anchor), nextRenewal),
            "Registering for renewals Space",
            spaceId,
            logger);
}
