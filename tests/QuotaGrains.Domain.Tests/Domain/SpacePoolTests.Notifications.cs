using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>Notifications of every kind, born from events: pool exhausted once per cycle (the refusal's answer as
/// before), threshold, renewal, plan change; ids derived from the Space and the sequence.</summary>
public sealed class SpacePoolNotificationTests : SpacePoolTestBase
{
    [Fact]
    public void The_first_refusal_for_credits_in_a_cycle_records_pool_exhausted_once_and_answers_as_before()
    {
        CreateTeamSpace(PlanTier.Free);
        Spend("s1", 98);
        Ok(Reserve("held", Shadows));

        var first = Reserve("r1", Recolor);
        var rejection = first.Result.Rejection!;
        Assert.Equal(new Rejection(RejectionCode.InsufficientCredits, "Space 'space-1' has 1 credits available; this needs 4.", 1, 4, Feb28), rejection);
        Assert.Null(first.Result.HoldId);
        Assert.Equal([new PoolExhausted(9, T0, 1, 4, 98, 100)], first.Events);
        Assert.True(State.CurrentUsage.Exhausted);

        // Later refusals in the same cycle record nothing; the refusal itself is not remembered (a retry is decided afresh).
        var second = Reserve("r1", Recolor);
        Assert.Empty(second.Events);
        Assert.Equal(rejection, second.Result.Rejection);
        Assert.False(Pool.Operations.Contains("r1"));

        // Other refusals never do.
        Assert.Empty(Reserve("r2", Shadows, 1, "stranger").Events);

        // A new cycle: the first refusal records again.
        AdvanceTo(Feb28);
        Assert.False(State.CurrentUsage.Exhausted);
        Spend("s2", 99);
        var next = Reserve("r3", Recolor);
        Assert.Equal(RejectionCode.InsufficientCredits, next.Result.Rejection!.Code);
        var exhausted = Assert.IsType<PoolExhausted>(Assert.Single(next.Events));
        Assert.Equal((1L, 4L, 99L, 100L), (exhausted.Available, exhausted.Required, exhausted.Used, exhausted.Allowance));
        Assert.Equal(2, Journal.OfType<PoolExhausted>().Count());
    }

    [Fact]
    public void Every_kind_gives_a_notification_with_an_id_from_the_space_and_the_sequence()
    {
        CreateTeamSpace(PlanTier.Free);                        // sequences 1-3
        Spend("s1", 50);                                       // 4 reserved, 5 committed, 6 threshold 50
        Now = T0.AddDays(1);
        Ok(ChangePlan("up", "owner", PlanTier.Pro));           // 7 upgraded: allowance 500
        Ok(ChangePlan("down", "admin", PlanTier.Free));        // 8 scheduled for the renewal
        Spend("s2", 450);                                      // 9, 10, 11 (80 %), 12 (100 %), both at 500 used
        AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("r", Shadows)); // 13 exhausted
        AdvanceTo(Feb28);                                      // 14 renewed (to Free)

        var day1 = T0.AddDays(1);
        Assert.Equal(
            [
                new SpaceNotification("ntf_space-1_6", "space-1", 6, NotificationKind.ThresholdCrossed, T0, T0, 50, 100, Percent: 50, NextRenewal: Feb28),
                new SpaceNotification("ntf_space-1_7", "space-1", 7, NotificationKind.PlanChanged, day1, T0, 50, 500, Plan: PlanTier.Pro, EffectiveAt: day1, NextRenewal: Feb28),
                new SpaceNotification("ntf_space-1_8", "space-1", 8, NotificationKind.PlanChanged, day1, T0, 50, 500, Plan: PlanTier.Free, EffectiveAt: Feb28, NextRenewal: Feb28),
                new SpaceNotification("ntf_space-1_11", "space-1", 11, NotificationKind.ThresholdCrossed, day1, T0, 500, 500, Percent: 80, NextRenewal: Feb28),
                new SpaceNotification("ntf_space-1_12", "space-1", 12, NotificationKind.ThresholdCrossed, day1, T0, 500, 500, Percent: 100, NextRenewal: Feb28),
                new SpaceNotification("ntf_space-1_13", "space-1", 13, NotificationKind.PoolExhausted, day1, T0, 500, 500, Available: 0, Required: 1, NextRenewal: Feb28),
                new SpaceNotification("ntf_space-1_14", "space-1", 14, NotificationKind.CycleRenewed, Feb28, Feb28, 0, 100, Plan: PlanTier.Free, NextRenewal: Mar31),
            ],
            State.RecentNotifications);
        Assert.Equal([12L, 13, 14], Pool.NotificationsAfter(11).Select(n => n.Sequence).ToArray());
        Assert.Empty(Pool.NotificationsAfter(14));
    }

    [Fact]
    public void A_replay_of_the_journal_yields_the_same_notifications()
    {
        CreateTeamSpace(PlanTier.Free);
        Spend("s1", 100);
        AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("r", Shadows));
        AdvanceTo(Feb28);

        var replayed = new SpacePool("space-1", new SpaceState(), QuotaRules.Default);
        foreach (var e in Journal)
        {
            replayed.Apply(e);
        }

        Assert.Equal(State.RecentNotifications, replayed.State.RecentNotifications);
        Assert.Equal(5, replayed.State.RecentNotifications.Count);
    }

    [Fact]
    public void A_space_keeps_its_last_hundred_notifications()
    {
        Ok(Create(PlanTier.Free));
        var instant = T0;
        for (var cycle = 0; cycle < 40; cycle++)
        {
            Spend($"s{cycle}", 100);   // 50, 80, 100 %
            instant = State.NextRenewal;
            AdvanceTo(instant);        // renewed
        }

        Assert.Equal(SpacePool.MaxRecentNotifications, State.RecentNotifications.Count);
        Assert.Equal(Journal[^1].Sequence, State.RecentNotifications[^1].Sequence);
        Assert.True(State.RecentNotifications.Zip(State.RecentNotifications.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence));
    }
}
