using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>Bounded memory of operation ids, and the one-time merge of legacy image and video pools.</summary>
public sealed partial class SpacePoolTests
{
    [Fact]
    public void Busy_space_forgets_its_oldest_operation_ids_but_an_open_hold_still_answers_its_reserve()
    {
        var rules = new QuotaRules(PriceBook.Default, PlanCatalog.Default, new SpaceRulesOptions { MaxRememberedOperations = 100 });
        var pool = new SpacePool("space-1", new SpaceState(), rules);
        Assert.True(pool.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Pro), T0).Result.Succeeded);
        var first = pool.Reserve("owner", new ReserveRequest("keep", Recolor, 2), T0).Result;
        Assert.True(first.Succeeded);
        for (var i = 0; i < 130; i++)
        {
            // All at one instant: the time-based pruning (once a minute) does not run; the size bound alone does.
            Assert.True(pool.AddMember(new AddMemberRequest($"add-{i}", "owner", $"user-{i}", SpaceRole.Member), T0).Result.Succeeded);
        }

        Assert.False(pool.Operations.Contains("keep"));
        Assert.False(pool.Operations.Contains("create-1"));
        Assert.InRange(pool.Operations.Count, 100, 125);
        Assert.True(pool.State.Holds.ContainsKey("keep"));
        Assert.True(pool.Reserve("owner", new ReserveRequest("other", Shadows, 10), T0.AddMinutes(2)).Result.Succeeded);
        Assert.Equal(18, pool.State.Held);

        var again = pool.Reserve("owner", new ReserveRequest("keep", new GenerationSpec("RECOLOR"), 2), T0.AddMinutes(3));

        Assert.True(again.Result.Succeeded);
        Assert.True(again.Result.Replayed);
        Assert.Empty(again.Events);
        Assert.Equal(first with { Replayed = true }, again.Result);
        Assert.Equal(18, pool.State.Held);
        Assert.Equal(2, pool.State.Holds.Count);

        var sequence = pool.State.Sequence;
        Assert.Equal(RejectionCode.OperationIdReused, pool.Reserve("owner", new ReserveRequest("keep", Recolor, 3), T0.AddMinutes(3)).Result.Rejection?.Code);
        Assert.Equal(RejectionCode.OperationIdReused, pool.Reserve("owner", new ReserveRequest("keep", RecolorHd, 2), T0.AddMinutes(3)).Result.Rejection?.Code);
        Assert.Equal(RejectionCode.OperationIdReused, pool.Reserve("user-7", new ReserveRequest("keep", Recolor, 2), T0.AddMinutes(3)).Result.Rejection?.Code);
        Assert.Equal(sequence, pool.State.Sequence);
        Assert.Equal(18, pool.State.Held);
    }

    [Fact]
    public void Retried_reserve_and_commit_replay_their_first_outcome_in_a_busy_space()
    {
        CreateTeamSpace(PlanTier.Pro);
        var reserved = Ok(Reserve("r1", Shadows));
        var committed = Ok(Commit("c1", "r1"));
        for (var i = 0; i < 2_600; i++)
        {
            Ok(Reserve($"busy-{i}", Shadows));
            Ok(Refund($"busy-{i}-refund", $"busy-{i}"));
        }

        Now = T0.AddSeconds(30);

        Assert.Equal(reserved with { Replayed = true }, Reserve("r1", Shadows).Result);
        Assert.Equal(committed with { Replayed = true }, Commit("c1", "r1").Result);
        Assert.Equal((1L, 0L), (State.Used, State.Held));
        Assert.Empty(State.Holds);
    }

    /// <summary>
    /// A retry is replayed exactly while its id is among the Space's most recent
    /// <see cref="Options.SpaceRulesOptions.MaxRememberedOperations"/> operations and within the retention window,
    /// however many other operations ran meanwhile.
    /// </summary>
    [Fact]
    public void Retried_reserve_and_commit_within_the_remembered_window_replay_and_charge_once()
    {
        CreateTeamSpace(PlanTier.Pro);
        var reserved = Ok(Reserve("r1", Shadows));
        var committed = Ok(Commit("c1", "r1"));

        // Ten generations a second, each refunded: just under the count bound of remembered ids.
        var others = (QuotaRules.Default.Spaces.MaxRememberedOperations / 2) - 10;
        for (var i = 0; i < others; i++)
        {
            Now = T0.AddSeconds(i / 10);
            Reserve($"busy-{i}", Shadows);
            Refund($"busy-{i}-refund", $"busy-{i}");
        }

        Now = T0.AddHours(2);
        Assert.True(Now - T0 < QuotaRules.Default.Spaces.OperationIdRetention);

        var reserveAgain = Reserve("r1", Shadows).Result;
        var commitAgain = Commit("c1", "r1").Result;

        Assert.Equal((1L, 0L), (State.Used, State.Held));
        Assert.Equal(reserved with { Replayed = true }, reserveAgain);
        Assert.Equal(committed with { Replayed = true }, commitAgain);
    }

    /// <summary>The documented bound: past it the oldest ids are forgotten, so that state stays bounded.</summary>
    [Fact]
    public void Operation_ids_beyond_the_count_bound_are_forgotten_oldest_first()
    {
        CreateTeamSpace(PlanTier.Pro);
        Ok(Reserve("r1", Shadows));
        Ok(Commit("c1", "r1"));

        var max = QuotaRules.Default.Spaces.MaxRememberedOperations;
        for (var i = 0; i < (max * 5 / 8) + 100; i++)
        {
            Now = T0.AddSeconds(i / 10);
            Reserve($"busy-{i}", Shadows);
            Refund($"busy-{i}-refund", $"busy-{i}");
        }

        Assert.True(Pool.Operations.Count <= max * 5 / 4);
        Assert.False(Pool.Operations.Contains("r1"));
        Assert.False(Pool.Operations.Contains("c1"));
        Assert.True(Pool.Operations.Contains($"busy-{(max * 5 / 8) + 99}-refund"));
    }

    [Fact]
    public void Legacy_image_and_video_pools_merge_once_into_one_pool()
    {
        CreateTeamSpace(PlanTier.Max);
        Ok(Reserve("r1", Shadows, 10));
        State.LegacyPools = new LegacyPools { ImageAllowance = 1_000, ImageUsed = 300, VideoAllowance = 500, VideoUsed = 120 };
        Now = T0.AddMinutes(1);

        var events = Pool.MigrateLegacyPools(Now);

        Assert.Equal(new PoolsMigrated(5, Now, 1_000, 300, 500, 120, 1_500, 420), Assert.Single(events));
        Assert.Null(State.LegacyPools);
        Assert.Equal((1_500L, 420L, 10L, 1_070L), (State.Allowance, State.Used, State.Held, Available));
        Assert.Equal(5, State.Sequence);
        Assert.Empty(Pool.MigrateLegacyPools(Now.AddMinutes(1)));
        Assert.Equal(5, State.Sequence);

        // The merged pool renews like any other.
        AdvanceTo(Feb28);
        Assert.Equal((1_500L, 0L), (State.Allowance, State.Used));
    }

    [Fact]
    public void Space_without_legacy_pools_has_nothing_to_migrate()
    {
        CreateTeamSpace(PlanTier.Ultra);
        var before = Snap();

        Assert.Empty(Pool.MigrateLegacyPools(T0.AddMinutes(1)));
        Assert.Equal(before, Snap());
    }
}

/// <summary>The grain's durable shadow keeps no operation window; snapshots read it from the live pool, bounded by the
/// durable sequence.</summary>
public sealed class SpacePoolShadowTests : SpacePoolTestBase
{
    [Fact]
    public void A_shadow_without_an_operation_window_tracks_the_same_balances_and_the_live_pool_gives_its_window()
    {
        CreateTeamSpace(PlanTier.Pro);
        var shadow = new SpacePool("space-1", new SpaceState(), QuotaRules.Default);
        foreach (var e in Journal)
        {
            shadow.Apply(e);
        }

        shadow.ForgetOperationWindow();
        var durableThrough = Journal.Count;
        Ok(Reserve("r1", Shadows));
        Ok(Commit("c1", "r1"));
        Ok(Reserve("r2", Recolor));
        foreach (var e in Journal.Skip(durableThrough).Take(2))
        {
            shadow.Apply(e);
        }

        // The shadow is one event (r2) behind the live pool: the same money but r2's hold, and no ids.
        Assert.False(shadow.KeepsOperationWindow);
        Assert.Equal(0, shadow.Operations.Count);
        Assert.Equal(0, shadow.ClosedHolds.Count);
        Assert.Equal(State.Used, shadow.State.Used);
        Assert.Equal(State.Held - 4, shadow.State.Held);

        // Its snapshot window, read from the live pool up to its own sequence: r1, c1 and r1's closed hold; not r2.
        var (operations, closed) = Pool.RecentWindow(shadow.State.Sequence, 2_000);
        Assert.Contains("r1", operations.Keys);
        Assert.Contains("c1", operations.Keys);
        Assert.DoesNotContain("r2", operations.Keys);
        Assert.Equal(["r1"], closed.Keys);
        Assert.Equal(
            Pool.Operations.All().Where(o => o.Record.Sequence <= shadow.State.Sequence).Select(o => o.OperationId).Order(),
            operations.Keys.Order());

        // Bounded by count from that sequence back: the last event alone.
        Assert.Equal(["c1"], Pool.RecentWindow(shadow.State.Sequence, 1).Operations.Keys);
    }
}
