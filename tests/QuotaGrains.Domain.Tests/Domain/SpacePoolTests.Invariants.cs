using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>DOMAIN.md invariants 1 and 2 over a long random run, checked against an independent model.</summary>
public sealed partial class SpacePoolTests
{
    private static readonly GenerationSpec[] _randomSpecs =
    [
        new("ai-shadows"),
        new("ai-shadows", MediaKind.Image, ResolutionTier.Hd),
        new("recolor"),
        new("recolor", MediaKind.Image, ResolutionTier.FourK),
        new("virtual-model", MediaKind.Image, ResolutionTier.Hd),
        new("virtual-model", MediaKind.Video),
        new("ai-video", MediaKind.Video, ResolutionTier.Hd),
        new("white-background"),
        new("template", MediaKind.Image, ResolutionTier.FourK),
    ];

    private static readonly string[] _randomUsers = ["owner", "admin", "member"];

    [Theory]
    [InlineData(20250132, PlanTier.Pro, BillingCadence.Monthly)]
    [InlineData(77, PlanTier.Free, BillingCadence.Monthly)]
    [InlineData(4242, PlanTier.Max, BillingCadence.Weekly)]
    public void Random_operations_keep_used_plus_held_within_allowance_and_used_equal_to_committed_credits(
        int seed, PlanTier plan, BillingCadence cadence)
    {
        var random = new Random(seed);
        CreateTeamSpace(plan, cadence);
        var model = new Dictionary<string, ModelHold>(StringComparer.Ordinal);
        var done = new List<(DateTimeOffset At, Func<OperationResult> Retry, OperationResult First)>();
        long committedThisCycle = 0;
        long committedEver = 0;
        long refundedEver = 0;
        long expiredEver = 0;
        long reservedEver = 0;
        var renewals = 0;
        var earlyExpiries = 0;
        var planChanges = 0;
        var expectedNextRenewal = State.NextRenewal;

        void Observe(IReadOnlyList<SpaceEvent> events)
        {
            foreach (var e in events)
            {
                switch (e)
                {
                    case CycleRenewed renewed:
                        Assert.Equal(expectedNextRenewal, renewed.At);
                        Assert.Equal(model.Values.Sum(h => h.PendingCredits), renewed.CarriedHeld);
                        expectedNextRenewal = renewed.NextRenewal;
                        committedThisCycle = 0;
                        renewals++;
                        break;
                    case HoldExpired expired:
                        // Every expiry matches an earlier hold, for its pending items, at exactly its expiry instant or
                        // at the renewal instant (a carried hold that does not fit a downgraded allowance).
                        Assert.True(model.Remove(expired.HoldId, out var hold), $"Unknown hold {expired.HoldId} expired.");
                        if (expired.At != hold.ExpiresAt)
                        {
                            Assert.Equal(expectedNextRenewal, expired.At);
                            Assert.True(expired.At < hold.ExpiresAt);
                            earlyExpiries++;
                        }

                        Assert.Equal(hold.PendingCredits, expired.Credits);
                        Assert.Equal(hold.Items.Count(i => i == HoldItemStatus.Pending), expired.Items);
                        expiredEver += expired.Credits;
                        break;
                }
            }
        }

        for (var step = 0; step < 2_000; step++)
        {
            // Move the clock: mostly seconds, sometimes minutes (expiries), hours, weeks (renewals), or to just before
            // the next renewal, so that open holds are carried over (and some do not fit a downgraded allowance).
            var roll = random.Next(100);
            var delta = roll switch
            {
                < 55 => TimeSpan.FromSeconds(random.Next(0, 90)),
                < 85 => TimeSpan.FromMinutes(random.Next(1, 20)),
                < 95 => TimeSpan.FromHours(random.Next(1, 30)),
                < 97 => TimeSpan.FromDays(random.Next(5, 40)),
                _ => TimeSpan.FromTicks(Math.Max(0, (State.NextRenewal - TimeSpan.FromMinutes(random.Next(1, 14)) - Now).Ticks)),
            };
            Observe(AdvanceTo(Now + delta));
            var before = Snap();
            var op = $"op-{step}";
            var action = random.Next(100);

            if (action < 40)
            {
                var spec = _randomSpecs[random.Next(_randomSpecs.Length)];
                var count = random.Next(4) == 0 ? random.Next(1, 200) : random.Next(1, 12);
                var user = _randomUsers[random.Next(_randomUsers.Length)];
                var price = PriceBook.Default.Price(spec);
                var available = Available;
                var outcome = Reserve(op, spec, count, user);
                Assert.DoesNotContain(outcome.Events, e => e is CycleRenewed or HoldExpired);
                var result = outcome.Result;
                if (price.IsFree)
                {
                    Assert.True(result.IsFree);
                    Assert.Equal(before, Snap());
                }
                else if (price.UnitCredits * count > available)
                {
                    Assert.Equal(new Rejection(RejectionCode.InsufficientCredits, result.Rejection!.Message, available, price.UnitCredits * count, State.NextRenewal), result.Rejection);

                    // Nothing changes but the cycle's first refusal recorded as PoolExhausted.
                    if (outcome.Events.Count == 1 && outcome.Events[0] is PoolExhausted exhausted)
                    {
                        Assert.Equal((available, price.UnitCredits * count), (exhausted.Available, exhausted.Required));
                        before = before with { Sequence = before.Sequence + 1, LastEventAt = exhausted.At, RecentNotifications = Math.Min(before.RecentNotifications + 1, SpacePool.MaxRecentNotifications) };
                    }

                    Assert.Equal(before, Snap());
                }
                else
                {
                    Assert.True(result.Succeeded, result.Rejection?.ToString());
                    Assert.Equal((op, count, price.UnitCredits, price.UnitCredits * count, Now + Ttl, available - (price.UnitCredits * count)),
                        (result.HoldId, result.Items, result.UnitCredits, result.Credits, result.ExpiresAt!.Value, result.Available));
                    model.Add(op, new ModelHold(user, price.UnitCredits, count, Now + Ttl));
                    reservedEver += result.Credits;
                    done.Add((Now, () => Reserve(op, spec, count, user).Result, result));
                }
            }
            else if (action < 85 && model.Count > 0)
            {
                var commit = action < 70;
                var (holdId, hold) = model.ElementAt(random.Next(model.Count));
                var user = random.Next(10) == 0 ? _randomUsers[random.Next(_randomUsers.Length)] : hold.User;
                int[]? items = random.Next(3) == 0
                    ? null
                    : Enumerable.Range(0, hold.Items.Length).Where(_ => random.Next(3) == 0).Take(5).ToArray();
                if (items is { Length: 0 })
                {
                    items = [random.Next(hold.Items.Length)];
                }

                var outcome = commit ? Commit(op, holdId, items, user) : Refund(op, holdId, items, user);
                Assert.DoesNotContain(outcome.Events, e => e is CycleRenewed or HoldExpired);
                var result = outcome.Result;
                if (user != hold.User)
                {
                    Assert.Equal(RejectionCode.HoldNotFound, result.Rejection?.Code);
                    Assert.Equal(before, Snap());
                }
                else if (items is not null && items.Any(i => hold.Items[i] != HoldItemStatus.Pending))
                {
                    Assert.Equal(RejectionCode.ItemAlreadySettled, result.Rejection?.Code);
                    Assert.Equal(before, Snap());
                }
                else
                {
                    Assert.True(result.Succeeded, result.Rejection?.ToString());
                    var settled = items ?? Enumerable.Range(0, hold.Items.Length).Where(i => hold.Items[i] == HoldItemStatus.Pending).ToArray();
                    foreach (var i in settled)
                    {
                        hold.Items[i] = commit ? HoldItemStatus.Committed : HoldItemStatus.Refunded;
                    }

                    var credits = settled.Length * hold.Unit;
                    Assert.Equal(commit ? credits : 0, result.CommittedCredits);
                    Assert.Equal(commit ? 0 : credits, result.RefundedCredits);
                    Assert.Equal(settled.Length, result.ItemsSettled);
                    Assert.Equal(hold.Items.Count(i => i == HoldItemStatus.Pending), result.ItemsPending);
                    if (commit)
                    {
                        committedThisCycle += credits;
                        committedEver += credits;
                    }
                    else
                    {
                        refundedEver += credits;
                    }

                    if (result.ItemsPending == 0)
                    {
                        model.Remove(holdId);
                    }

                    var replayUser = user;
                    done.Add((Now, () => (commit ? Commit(op, holdId, items, replayUser) : Refund(op, holdId, items, replayUser)).Result, result));
                }
            }
            else if (action < 92 && done.Count > 0)
            {
                // Retry an earlier request that succeeded: the first outcome comes back and nothing changes.
                var (at, retry, first) = done[random.Next(done.Count)];
                if (Now - at < TimeSpan.FromHours(23))
                {
                    var again = retry();
                    Assert.True(again.Replayed);
                    Assert.Equal(first with { Replayed = true }, again);
                    Assert.Equal(before, Snap());
                }
            }
            else if (action < 94)
            {
                // An upgrade (at once) or a downgrade (at the next renewal).
                var target = (PlanTier)random.Next(0, 4);
                var allowanceBefore = State.Allowance;
                var outcome = ChangePlan(op, "owner", target);
                Assert.True(outcome.Result.Succeeded, outcome.Result.Rejection?.ToString());
                var newAllowance = QuotaRules.Default.Plans.VersionAt(Now).AllowanceOf(target, null);
                Assert.Equal(Math.Max(allowanceBefore, newAllowance), State.Allowance);
                Assert.Equal(newAllowance < allowanceBefore ? target : (PlanTier?)null, State.PendingPlan);
                planChanges++;
            }
            else if (action < 96)
            {
                // A hold that does not exist, or that is closed (expired, or settled).
                var closed = Pool.ClosedHolds.All().FirstOrDefault();
                var outcome = Commit(op, closed.Id ?? "nothing", null, "owner");
                Assert.False(outcome.Result.Succeeded);
                var expected = closed.Id is null ? RejectionCode.HoldNotFound
                    : closed.Value ? RejectionCode.HoldExpired
                    : RejectionCode.ItemAlreadySettled;
                Assert.Equal(expected, outcome.Result.Rejection!.Code);
                Assert.Equal(before, Snap());
            }

            // Invariant 1, and invariant 2 against the model.
            AssertInvariant();
            Assert.Equal(committedThisCycle, State.Used);
            Assert.Equal(committedThisCycle, State.CurrentUsage.Credits);
            Assert.Equal(model.Values.Sum(h => h.PendingCredits), State.Held);
            Assert.Equal(model.Keys.Order(StringComparer.Ordinal), State.Holds.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(reservedEver, committedEver + refundedEver + expiredEver + State.Held);
            Assert.Equal(expectedNextRenewal, State.NextRenewal);
            Assert.Equal(Journal.Count, State.Sequence);
        }

        Assert.True(renewals >= 5, $"Only {renewals} renewals: the run did not cross enough cycles.");
        Assert.True(committedEver > 0 && refundedEver > 0 && expiredEver > 0, $"committed {committedEver}, refunded {refundedEver}, expired {expiredEver}");
        Assert.True(planChanges > 10, $"Only {planChanges} plan changes.");
        Assert.True(earlyExpiries > 0, "No carried hold ever had to expire at a downgrade renewal.");
    }

    /// <summary>
    /// Invariant 1 must hold "at all times", and holds carry over a renewal. When the renewal also applies a
    /// scheduled downgrade, the carried holds that do not fit the lower allowance expire at the renewal instant.
    /// </summary>
    [Fact]
    public void Carried_hold_that_does_not_fit_a_downgrade_expires_at_the_renewal()
    {
        CreateTeamSpace(PlanTier.Pro);
        Ok(ChangePlan("down", "owner", PlanTier.Free));
        Now = Feb28.AddMinutes(-5);
        Ok(Reserve("big", Shadows, 400));
        AssertInvariant();

        var events = AdvanceTo(Feb28);

        Assert.Equal(
            [new HoldExpired(6, Feb28, "big", 400, 400), Renewed(7, Feb28, PlanTier.Free, 100, Mar31, 0)],
            events);
        Assert.Equal((PlanTier.Free, 100L, 0L, 0L), (State.Plan, State.Allowance, State.Used, State.Held));
        AssertInvariant();

        Now = Feb28.AddMinutes(1);
        AssertRejected(RejectionCode.HoldExpired, () => Commit("big-commit", "big"));
        AssertInvariant();
    }

    [Fact]
    public void Carried_holds_expire_newest_first_until_the_rest_fits_the_downgraded_allowance()
    {
        CreateTeamSpace(PlanTier.Pro);
        Ok(ChangePlan("down", "owner", PlanTier.Free));
        Now = Feb28.AddMinutes(-10);
        Ok(Reserve("old", Shadows, 60));
        Now = Feb28.AddMinutes(-2);
        Ok(Reserve("t-b", Shadows, 30, "member"));
        Ok(Reserve("t-a", Shadows, 30, "admin"));
        Assert.Equal(120, State.Held);

        var events = AdvanceTo(Feb28);

        // Same reservation instant: the hold ids break the tie. 90 credits fit in 100: the rest is carried.
        Assert.Equal(
            [new HoldExpired(8, Feb28, "t-a", 30, 30), Renewed(9, Feb28, PlanTier.Free, 100, Mar31, 90)],
            events);
        Assert.Equal(["old", "t-b"], State.Holds.Keys.Order(StringComparer.Ordinal).ToArray());
        AssertInvariant();
        Assert.Equal(60, Ok(Commit("old-commit", "old")).CommittedCredits);
        Assert.Equal(30, Ok(Commit("t-b-commit", "t-b", null, "member")).CommittedCredits);
        Assert.Equal(90, State.Used);
        AssertInvariant();
    }

    [Fact]
    public void Carried_holds_that_fit_the_downgraded_allowance_all_carry_over()
    {
        CreateTeamSpace(PlanTier.Max);
        Ok(ChangePlan("down", "owner", PlanTier.Pro));
        Now = Feb28.AddMinutes(-5);
        Ok(Reserve("a", Shadows, 300));
        Ok(Reserve("b", Shadows, 200));

        var renewed = Assert.IsType<CycleRenewed>(Assert.Single(AdvanceTo(Feb28)));

        Assert.Equal(500, renewed.CarriedHeld);
        Assert.Equal((500L, 500L, 0L), (State.Allowance, State.Held, Available));
    }

    [Fact]
    public void Carried_hold_that_does_not_fit_a_lower_catalog_version_expires_at_the_renewal()
    {
        var plans = new PlanCatalog(new PlanCatalogOptions
        {
            Versions =
            [
                new PlanCatalogVersionOptions { Version = 1, EffectiveFrom = DateTimeOffset.MinValue },
                new PlanCatalogVersionOptions { Version = 2, EffectiveFrom = T0.AddDays(10), FreeAllowance = 50 },
            ],
        });
        var pool = new SpacePool("space-1", new SpaceState(), new QuotaRules(PriceBook.Default, plans, new SpaceRulesOptions()));
        pool.Create(new CreateSpaceRequest("create-1", "owner", PlanTier.Free), T0);
        Assert.True(pool.Reserve("owner", new ReserveRequest("r1", Shadows, 80), Feb28.AddMinutes(-5)).Result.Succeeded);

        var events = pool.AdvanceTo(Feb28);

        Assert.Equal([new HoldExpired(3, Feb28, "r1", 80, 80), Renewed(4, Feb28, PlanTier.Free, 50, Mar31, 0, catalogVersion: 2)], events);
        Assert.True(pool.State.Used + pool.State.Held <= pool.State.Allowance);
    }

    private sealed class ModelHold(string user, long unit, int count, DateTimeOffset expiresAt)
    {
        public string User { get; } = user;

        public long Unit { get; } = unit;

        public HoldItemStatus[] Items { get; } = new HoldItemStatus[count];

        public DateTimeOffset ExpiresAt { get; } = expiresAt;

        public long PendingCredits => Items.Count(i => i == HoldItemStatus.Pending) * Unit;
    }
}
