using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>Renewal at the exact instant, catch-up, carried holds, catalog versions and event numbering.</summary>
public sealed partial class SpacePoolTests
{
    [Fact]
    public void Renewal_at_exactly_the_next_renewal_resets_used_and_carries_open_holds()
    {
        CreateTeamSpace();
        Spend("s1", 100);
        Now = Feb28.AddMinutes(-10);
        Ok(Reserve("late", Recolor, 10));
        Ok(Commit("late-part", "late", [0]));
        Assert.Equal((104L, 36L), (State.Used, State.Held));

        Assert.Empty(AdvanceTo(Feb28.AddTicks(-1)));
        Assert.Equal((104L, 36L, T0), (State.Used, State.Held, State.CycleStart));

        var renewed = Assert.IsType<CycleRenewed>(Assert.Single(AdvanceTo(Feb28)));

        Assert.Equal(Renewed(8, Feb28, PlanTier.Pro, 500, Mar31, 36), renewed);
        Assert.Equal((0L, 36L, 464L), (State.Used, State.Held, Available));
        Assert.Equal((Feb28, Mar31), (State.CycleStart, State.NextRenewal));
        Assert.Single(State.Holds);
        Assert.Equal(0, State.CurrentUsage.Credits);
        Assert.Empty(State.CurrentUsage.ThresholdsCrossed);

        var past = Assert.Single(State.History);
        Assert.Equal((T0, Feb28, 500L, 104L, 101L), (past.CycleStart, past.CycleEnd, past.Allowance, past.Credits, past.Generations));
        var usage = Pool.Usage();
        Assert.Equal(2, usage.Count);
        Assert.Equal(Feb28, usage[0].CycleStart);
        Assert.Equal(Mar31, usage[0].CycleEnd);

        // The carried hold is charged to the new cycle.
        Now = Feb28.AddMinutes(1);
        Assert.Equal(36, Ok(Commit("late-rest", "late")).CommittedCredits);
        Assert.Equal((36L, 0L, 464L), (State.Used, State.Held, Available));
        Assert.Equal(36, State.CurrentUsage.Credits);
        Assert.Equal(104, State.History[0].Credits);
    }

    [Fact]
    public void A_command_at_the_renewal_instant_sees_the_renewed_pool()
    {
        CreateTeamSpace();
        Spend("s1", 500);
        AdvanceTo(Feb28.AddTicks(-1));
        var rejection = AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("r1", Shadows)).Rejection!;
        Assert.Equal((0L, 1L, Feb28), (rejection.Available!.Value, rejection.Required!.Value, rejection.NextRenewal!.Value));

        Now = Feb28;
        var outcome = Reserve("r1", Shadows);

        Assert.Equal(499, Ok(outcome).Available);
        Assert.Equal(2, outcome.Events.Count);
        Assert.Equal(Feb28, Assert.IsType<CycleRenewed>(outcome.Events[0]).At);
        Assert.IsType<CreditsReserved>(outcome.Events[1]);
        Assert.Equal(outcome.Events[0].Sequence + 1, outcome.Events[1].Sequence);
    }

    [Fact]
    public void Catch_up_of_missed_monthly_cycles_renews_once_per_cycle()
    {
        CreateTeamSpace();
        Spend("s1", 42);

        var events = AdvanceTo(new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.Zero));

        var renewals = events.Select(e => Assert.IsType<CycleRenewed>(e)).ToArray();
        var at = new[] { Feb28, Mar31, Apr30, At10(2025, 5, 31), At10(2025, 6, 30) };
        var next = new[] { Mar31, Apr30, At10(2025, 5, 31), At10(2025, 6, 30), At10(2025, 7, 31) };
        Assert.Equal(at, renewals.Select(r => r.At).ToArray());
        Assert.Equal(next, renewals.Select(r => r.NextRenewal).ToArray());
        Assert.Equal([6L, 7L, 8L, 9L, 10L], renewals.Select(r => r.Sequence).ToArray());
        Assert.All(renewals, r => Assert.Equal(500, r.Allowance));
        Assert.Equal((At10(2025, 6, 30), At10(2025, 7, 31)), (State.CycleStart, State.NextRenewal));
        Assert.Equal(0, State.Used);
        Assert.Equal(5, State.History.Count);
        Assert.Equal(42, State.History[^1].Credits);
        Assert.Equal(T0, State.History[^1].CycleStart);
        Assert.All(State.History.Take(4), h => Assert.Equal(0, h.Credits));

        // Nothing more is due until the next renewal.
        Assert.Empty(AdvanceTo(At10(2025, 7, 31).AddTicks(-1)));
        Assert.Single(AdvanceTo(At10(2025, 7, 31)));
    }

    [Fact]
    public void Usage_history_keeps_the_configured_number_of_past_cycles_newest_first()
    {
        CreateTeamSpace();
        Spend("s1", 7);

        Assert.Equal(30, AdvanceTo(T0.AddMonths(30)).Count);

        Assert.Equal(24, State.History.Count);
        Assert.Equal(At10(2027, 6, 30), State.History[0].CycleStart);
        Assert.Equal(At10(2027, 7, 31), State.History[0].CycleEnd);
        Assert.Equal(At10(2025, 7, 31), State.History[^1].CycleStart);
        Assert.All(State.History.Zip(State.History.Skip(1)), p => Assert.Equal(p.Second.CycleEnd, p.First.CycleStart));
        Assert.All(State.History, h => Assert.Equal(0, h.Credits));
        Assert.Equal(25, Pool.Usage().Count);
    }

    [Fact]
    public void Catch_up_of_missed_weekly_cycles_renews_every_seven_days()
    {
        CreateTeamSpace(PlanTier.Pro, BillingCadence.Weekly);

        var events = AdvanceTo(T0.AddDays(70));

        Assert.Equal(10, events.Count);
        for (var i = 0; i < 10; i++)
        {
            var renewed = Assert.IsType<CycleRenewed>(events[i]);
            Assert.Equal(T0.AddDays(7 * (i + 1)), renewed.At);
            Assert.Equal(T0.AddDays(7 * (i + 2)), renewed.NextRenewal);
            Assert.Equal(4 + i, renewed.Sequence);
        }
    }

    [Fact]
    public void Catch_up_interleaves_renewals_and_expiries_in_time_order()
    {
        CreateTeamSpace();
        Now = Feb28.AddMinutes(-5);
        Ok(Reserve("r1", Shadows, 30));
        Now = Feb28.AddMinutes(-2);
        Ok(Reserve("r2", Shadows, 7));

        var events = AdvanceTo(At10(2025, 4, 1));

        Assert.Equal(
            [
                Renewed(6, Feb28, PlanTier.Pro, 500, Mar31, 37),
                new HoldExpired(7, Feb28.AddMinutes(10), "r1", 30, 30),
                new HoldExpired(8, Feb28.AddMinutes(13), "r2", 7, 7),
                Renewed(9, Mar31, PlanTier.Pro, 500, Apr30, 0),
            ],
            events);
    }

    [Fact]
    public void Hold_expiring_exactly_at_the_renewal_expires_first_and_is_not_carried()
    {
        CreateTeamSpace();
        Now = Feb28 - Ttl;
        Ok(Reserve("r1", Shadows, 30));

        var events = AdvanceTo(Feb28);

        Assert.Equal(
            [new HoldExpired(5, Feb28, "r1", 30, 30), Renewed(6, Feb28, PlanTier.Pro, 500, Mar31, 0)],
            events);
    }

    [Fact]
    public void New_catalog_version_applies_from_the_next_renewal()
    {
        var v2From = At10(2025, 2, 15);
        var plans = new PlanCatalog(new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = DateTimeOffset.MinValue },
                new PlanCatalogVersionOptions { Version = 2, EffectiveFrom = v2From, FreeAllowance = 200 },
            ],
        });
        var pool = new SpacePool("space-1", new SpaceState(), new QuotaRules(PriceBook.Default, plans, new SpaceRulesOptions()));
        Assert.True(pool.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Pro, SubscribedAt: T0), T0).Result.Succeeded);
        Assert.Equal((1, 500L), (pool.State.CatalogVersion, pool.State.Allowance));

        // After v2 takes effect but before the renewal: still v1, and an upgrade prices with v1.
        Assert.Empty(pool.AdvanceTo(v2From.AddDays(1)));
        Assert.True(pool.ChangePlan(new ChangePlanRequest("up", "owner", PlanTier.Max), v2From.AddDays(1)).Result.Succeeded);
        Assert.Equal((1, 1500L), (pool.State.CatalogVersion, pool.State.Allowance));

        var renewed = Assert.IsType<CycleRenewed>(Assert.Single(pool.AdvanceTo(Feb28)));
        Assert.Equal((2, 3000L), (renewed.CatalogVersion, renewed.Allowance));
        Assert.Equal((2, 3000L), (pool.State.CatalogVersion, pool.State.Allowance));

        // A Space created after v2 takes effect starts on v2.
        var late = new SpacePool("space-2", new SpaceState(), new QuotaRules(PriceBook.Default, plans, new SpaceRulesOptions()));
        Assert.True(late.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Free), v2From).Result.Succeeded);
        Assert.Equal((2, 200L), (late.State.CatalogVersion, late.State.Allowance));
    }

    [Fact]
    public void Hold_time_to_live_comes_from_the_rules()
    {
        var rules = new QuotaRules(PriceBook.Default, PlanCatalog.Default, new SpaceRulesOptions { HoldTimeToLive = TimeSpan.FromSeconds(30) });
        var pool = new SpacePool("space-1", new SpaceState(), rules);
        pool.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Pro), T0);

        var reserved = pool.Reserve("owner", new ReserveRequest("r1", Shadows, 5), T0).Result;

        Assert.Equal(T0.AddSeconds(30), reserved.ExpiresAt);
        Assert.Empty(pool.AdvanceTo(T0.AddSeconds(30).AddTicks(-1)));
        Assert.Equal(new HoldExpired(3, T0.AddSeconds(30), "r1", 5, 5), Assert.Single(pool.AdvanceTo(T0.AddSeconds(30))));
    }

    [Fact]
    public void Event_sequence_numbers_are_contiguous_from_one()
    {
        CreateTeamSpace();
        Spend("s1", 260);
        Ok(Reserve("r1", Recolor, 4, "member"));
        Ok(Commit("c1", "r1", [0, 1], "member"));
        Ok(Refund("f1", "r1", [2], "member"));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Refund("f2", "r1", [2], "member"));
        Reserve("r1", Recolor, 4, "member");
        Ok(ChangePlan("down", "owner", PlanTier.Free));
        Now = T0.AddDays(3);
        Ok(Reserve("r2", Shadows, 3, "admin"));
        Ok(ChangePlan("up", "owner", PlanTier.Max));
        AdvanceTo(At10(2025, 5, 1));
        Now = At10(2025, 5, 2);
        Ok(Reserve("s2", Recolor, 300));
        Ok(Commit("s2-commit", "s2"));
        Ok(RemoveMember("bye", "member", "member"));

        Assert.Equal(Enumerable.Range(1, Journal.Count).Select(i => (long)i).ToArray(), Journal.Select(e => e.Sequence).ToArray());
        Assert.Equal(Journal.Count, State.Sequence);
        Assert.Equal(Journal[^1].At, State.LastEventAt);
        for (var i = 1; i < Journal.Count; i++)
        {
            Assert.True(Journal[i - 1].At <= Journal[i].At, $"Event {Journal[i].Sequence} at {Journal[i].At:O} is before event {Journal[i - 1].Sequence}.");
        }

        Assert.IsType<SpaceCreated>(Journal[0]);
        Assert.Equal(3, Journal.OfType<CycleRenewed>().Count());
        Assert.Equal(2, Journal.OfType<HoldExpired>().Count());
        Assert.Equal(3, Journal.OfType<UsageThresholdCrossed>().Count());
    }

    [Fact]
    public void Replaying_the_journal_on_a_fresh_pool_rebuilds_the_same_state()
    {
        CreateTeamSpace();
        Spend("s1", 260);
        Ok(Reserve("r1", Recolor, 4, "member"));
        Ok(Commit("c1", "r1", [0, 1], "member"));
        Now = T0.AddDays(2);
        Ok(Reserve("r2", Shadows, 3, "admin"));
        Ok(ChangePlan("down", "owner", PlanTier.Free));
        AdvanceTo(Mar31.AddMinutes(1));
        Now = Mar31.AddMinutes(2);
        Ok(Reserve("r3", Shadows, 3, "admin"));

        var copy = new SpacePool("space-1", new SpaceState(), QuotaRules.Default);
        foreach (var e in Journal)
        {
            copy.Apply(e);
        }

        Assert.Equal(Pool.Balance(Now), copy.Balance(Now));
        Assert.Equal(State.Sequence, copy.State.Sequence);
        Assert.Equal(State.Holds.Keys.Order(StringComparer.Ordinal), copy.State.Holds.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(State.Held, copy.State.Held);
        Assert.Equal(State.CurrentUsage.Credits, copy.State.CurrentUsage.Credits);
        Assert.Equal(State.History.Select(h => h.Credits), copy.State.History.Select(h => h.Credits));
        Assert.Throws<InvalidOperationException>(() => copy.Apply(Journal[^1]));
    }

    private static DateTimeOffset At10(int year, int month, int day) => new(year, month, day, 10, 0, 0, TimeSpan.Zero);
}
