using QuotaGrains.Client;

namespace QuotaGrains.Tests.Cluster;

/// <summary>Helpers for the cluster tests: grain references, exact balance reads, the shared fake clock and the
/// Space's ledger.</summary>
public static class ClusterTestExtensions
{
    public static readonly GenerationSpec Shadows = new("ai-shadows");                                        // 1
    public static readonly GenerationSpec Recolor = new("recolor");                                           // 4
    public static readonly GenerationSpec VirtualModelHd = new("virtual-model", MediaKind.Image, ResolutionTier.Hd); // 8
    public static readonly GenerationSpec Video = new("ai-video", MediaKind.Video);                           // 20
    public static readonly GenerationSpec BackgroundRemoval = new("background-removal");                     // free

    public static ISpaceGrain Space(this QuotaClusterFixture fixture, string spaceId) => fixture.Grains.GetGrain<ISpaceGrain>(spaceId);

    public static IUserGrain User(this QuotaClusterFixture fixture, string userId) => fixture.Grains.GetGrain<IUserGrain>(userId);

    /// <summary>Creates a Space owned by <paramref name="owner"/> with <paramref name="members"/> as Members, through the
    /// client, and returns its new id.</summary>
    public static async Task<string> CreateSpaceAsync(this IQuotaClient quota, PlanTier plan, string owner, long? customAllowance, params string[] members)
    {
        var spaceId = QuotaClusterFixture.NewId("space");
        var created = await quota.CreateSpaceAsync(spaceId, new CreateSpaceRequest(QuotaClusterFixture.NewId("op"), owner, plan, CustomAllowance: customAllowance));
        Assert.True(created.Succeeded, created.Rejection?.ToString());
        foreach (var member in members)
        {
            var added = await quota.AddMemberAsync(spaceId, new AddMemberRequest(QuotaClusterFixture.NewId("op"), owner, member, SpaceRole.Member));
            Assert.True(added.Succeeded, added.Rejection?.ToString());
        }

        return spaceId;
    }

    /// <summary>The balance of a Space that must exist.</summary>
    public static async Task<SpaceBalance> BalanceAsync(this QuotaClusterFixture fixture, string spaceId)
    {
        var balance = await fixture.Space(spaceId).GetBalanceAsync();
        Assert.NotNull(balance);
        return balance;
    }

    /// <summary>Moves the shared fake clock forward to <paramref name="instant"/> (never backwards).</summary>
    public static void AdvanceTo(this QuotaClusterFixture fixture, DateTimeOffset instant)
    {
        var now = fixture.Time.GetUtcNow();
        Assert.True(instant >= now, $"Cannot move the clock back from {now:O} to {instant:O}.");
        fixture.Time.Advance(instant - now);
    }

    /// <summary>True when the grain has an activation somewhere in the cluster.</summary>
    public static bool IsActivated(this QuotaClusterFixture fixture, IAddressable grain) =>
        fixture.Cluster.TryGetGrainContext(grain.GetGrainId(), out _);

    /// <summary>Every entry of the Space's ledger that is durable so far. Unlike the other queries this one does not
    /// advance the Space to now, so it shows only what the Space did on its own (e.g. its timer) or was asked to do.</summary>
    public static async Task<List<LedgerEntry>> LedgerAsync(this QuotaClusterFixture fixture, string spaceId)
    {
        var entries = new List<LedgerEntry>();
        var query = new LedgerQuery(PageSize: LedgerQuery.MaxPageSize);
        while (true)
        {
            var page = await fixture.Space(spaceId).GetLedgerAsync(query);
            entries.AddRange(page.Entries);
            if (page.NextAfterSequence is not { } after)
            {
                return entries;
            }

            query = query with { AfterSequence = after };
        }
    }

    /// <summary>Waits (bounded, real time) until the ledger has an entry matching <paramref name="match"/>: an event
    /// wait for a grain timer, not a sleep for correctness. Returns the ledger as last read either way.</summary>
    public static async Task<List<LedgerEntry>> WaitForLedgerEntryAsync(this QuotaClusterFixture fixture, string spaceId, Func<LedgerEntry, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            var entries = await fixture.LedgerAsync(spaceId);
            if (entries.Any(match) || DateTime.UtcNow > deadline)
            {
                return entries;
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Adds <paramref name="userId"/> with <paramref name="role"/>, <paramref name="actor"/> acting, and asserts it was accepted.</summary>
    public static async Task AddMemberAsync(this QuotaClusterFixture fixture, string spaceId, string actor, string userId, SpaceRole role)
    {
        var added = await fixture.Space(spaceId).AddMemberAsync(new AddMemberRequest(QuotaClusterFixture.NewId("op"), actor, userId, role));
        Assert.True(added.Succeeded, added.Rejection?.ToString());
    }

    /// <summary>Reserves through the user's grain and asserts it was accepted.</summary>
    public static async Task<ReserveResult> ReserveOkAsync(this QuotaClusterFixture fixture, string userId, string spaceId, GenerationSpec spec, int count = 1)
    {
        var reserved = await fixture.User(userId).ReserveAsync(spaceId, new ReserveRequest(QuotaClusterFixture.NewId("hold"), spec, count));
        Assert.True(reserved.Succeeded, reserved.Rejection?.ToString());
        Assert.NotNull(reserved.HoldId);
        return reserved;
    }

    /// <summary>Reserves and commits every item, through the user's grain.</summary>
    public static async Task<SettleResult> SpendAsync(this QuotaClusterFixture fixture, string userId, string spaceId, GenerationSpec spec, int count = 1)
    {
        var reserved = await fixture.ReserveOkAsync(userId, spaceId, spec, count);
        var committed = await fixture.User(userId).CommitAsync(spaceId, new SettleRequest(QuotaClusterFixture.NewId("op"), reserved.HoldId!));
        Assert.True(committed.Succeeded, committed.Rejection?.ToString());
        Assert.Equal(reserved.Credits, committed.CommittedCredits);
        return committed;
    }

    /// <summary>Asserts the pool numbers of a balance.</summary>
    public static void AssertPool(this SpaceBalance balance, long allowance, long used, long held)
    {
        Assert.Equal((allowance, used, held), (balance.Allowance, balance.Used, balance.Held));
        Assert.Equal(Math.Max(0, allowance - used - held), balance.Available);
    }
}
