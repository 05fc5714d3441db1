using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Tests.Domain;

/// <summary>Every error path of every command; each leaves the Space unchanged.</summary>
public sealed partial class SpacePoolTests
{
    public static TheoryData<string> BadIds => new()
    {
        "",
        "   ",
        new string('x', 129),
        "op\u0000id",
        "tab\tid",
        "line\nbreak",
        "del\u007f",
        "nel\u0085",
    };

    public static TheoryData<int[]> BadItemLists => new()
    {
        Array.Empty<int>(),
        new[] { -1 },
        new[] { 0, -2 },
        new[] { 1, 1 },
        new[] { 0, 2, 0 },
        new[] { 3 },
        new[] { 0, 3 },
        new[] { int.MaxValue },
        Enumerable.Range(0, 1001).ToArray(),
    };

    [Theory]
    [MemberData(nameof(BadIds))]
    public void Bad_ids_are_invalid_requests_in_every_command(string bad)
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Shadows, 3));

        AssertRejected(RejectionCode.InvalidRequest, () => Reserve(bad, Shadows));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r2", Shadows, 1, bad));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve(bad, WhiteBackground));

        AssertRejected(RejectionCode.InvalidRequest, () => Commit(bad, "r1"));
        AssertRejected(RejectionCode.InvalidRequest, () => Commit("c1", bad));
        AssertRejected(RejectionCode.InvalidRequest, () => Commit("c1", "r1", null, bad));
        AssertRejected(RejectionCode.InvalidRequest, () => Refund(bad, "r1"));
        AssertRejected(RejectionCode.InvalidRequest, () => Refund("f1", bad, [0]));
        AssertRejected(RejectionCode.InvalidRequest, () => Refund("f1", "r1", [0], bad));

        AssertRejected(RejectionCode.InvalidRequest, () => AddMember(bad, "owner", "x", SpaceRole.Member));
        AssertRejected(RejectionCode.InvalidRequest, () => AddMember("a1", bad, "x", SpaceRole.Member));
        AssertRejected(RejectionCode.InvalidRequest, () => AddMember("a1", "owner", bad, SpaceRole.Member));
        AssertRejected(RejectionCode.InvalidRequest, () => RemoveMember(bad, "owner", "member"));
        AssertRejected(RejectionCode.InvalidRequest, () => RemoveMember("m1", bad, "member"));
        AssertRejected(RejectionCode.InvalidRequest, () => RemoveMember("m1", "owner", bad));
        AssertRejected(RejectionCode.InvalidRequest, () => ChangePlan(bad, "owner", PlanTier.Max));
        AssertRejected(RejectionCode.InvalidRequest, () => ChangePlan("p1", bad, PlanTier.Max));

        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, operationId: bad));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, operationId: "create-2", owner: bad));
    }

    [Theory]
    [MemberData(nameof(BadIds))]
    public void Bad_ids_are_invalid_requests_before_creation_too(string bad)
    {
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, operationId: bad));
        AssertRejected(RejectionCode.InvalidRequest, () => Create(PlanTier.Pro, owner: bad));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve(bad, Shadows));
        AssertRejected(RejectionCode.InvalidRequest, () => Commit("c1", bad));
        Assert.False(State.Created);
    }

    [Fact]
    public void Ids_of_exactly_the_maximum_length_are_accepted()
    {
        var longest = new string('x', 128);
        Ok(Create(PlanTier.Pro, owner: longest, operationId: longest.Replace('x', 'c')));

        var reserved = Ok(Reserve(longest, Shadows, 2, longest));
        Assert.Equal(longest, reserved.HoldId);
        Ok(Commit(longest.Replace('x', 'y'), longest, [1], longest));
        Ok(AddMember(longest.Replace('x', 'a'), longest, longest.Replace('x', 'u'), SpaceRole.Member));
        Assert.Equal(1, State.Used);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1001)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void Batch_size_out_of_range_is_an_invalid_request(int count)
    {
        CreateTeamSpace(PlanTier.Ultra);

        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r1", Shadows, count));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r2", WhiteBackground, count));
    }

    [Fact]
    public void Batch_of_the_maximum_size_is_accepted()
    {
        CreateTeamSpace(PlanTier.Ultra);

        var reserved = Ok(Reserve("r1", Shadows, 1000));

        Assert.Equal(1000, reserved.Items);
        Assert.Equal(1000, reserved.Credits);
        Assert.Equal(1000, State.Held);
    }

    [Theory]
    [MemberData(nameof(BadItemLists))]
    public void Bad_item_lists_are_invalid_requests(int[] items)
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Recolor, 3));

        AssertRejected(RejectionCode.InvalidRequest, () => Commit("c1", "r1", items));
        AssertRejected(RejectionCode.InvalidRequest, () => Refund("f1", "r1", items));

        Assert.Equal(12, State.Held);
        Assert.All(State.Holds["r1"].Items, s => Assert.Equal(HoldItemStatus.Pending, s));
    }

    [Fact]
    public void Only_members_may_reserve()
    {
        CreateTeamSpace();

        AssertRejected(RejectionCode.NotAMember, () => Reserve("r1", Shadows, 1, "stranger"));
        AssertRejected(RejectionCode.NotAMember, () => Reserve("r2", WhiteBackground, 1, "stranger"));

        Ok(Reserve("r3", Shadows, 1, "member"));
    }

    [Fact]
    public void Unpriced_generations_are_refused()
    {
        CreateTeamSpace();

        AssertRejected(RejectionCode.UnknownFeature, () => Reserve("r1", new GenerationSpec("teleportation")));
        AssertRejected(RejectionCode.UnknownFeature, () => Reserve("r2", new GenerationSpec("ai-shadows", MediaKind.Video)));
        AssertRejected(RejectionCode.UnknownFeature, () => Reserve("r3", new GenerationSpec("ai-video", MediaKind.Image)));
        AssertRejected(RejectionCode.UnknownResolution, () => Reserve("r4", new GenerationSpec("recolor", MediaKind.Image, (ResolutionTier)42)));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r5", new GenerationSpec("recolor", (MediaKind)3)));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r6", new GenerationSpec("")));
        AssertRejected(RejectionCode.InvalidRequest, () => Reserve("r7", null!));
    }

    [Fact]
    public void Reusing_an_operation_id_with_other_parameters_is_refused()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Shadows, 2));
        Ok(Commit("c1", "r1", [0]));

        // Same kind, other parameters.
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("r1", Shadows, 3));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("r1", Recolor, 2));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("r1", new GenerationSpec("ai-shadows", MediaKind.Image, ResolutionTier.Hd), 2));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("r1", Shadows, 2, "member"));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("r1", Shadows, 2, "stranger"));
        AssertRejected(RejectionCode.OperationIdReused, () => Commit("c1", "r1", [1]));
        AssertRejected(RejectionCode.OperationIdReused, () => Commit("c1", "r1"));

        // Across kinds.
        AssertRejected(RejectionCode.OperationIdReused, () => Commit("r1", "r1", [1]));
        AssertRejected(RejectionCode.OperationIdReused, () => Refund("r1", "r1"));
        AssertRejected(RejectionCode.OperationIdReused, () => Refund("c1", "r1", [0]));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("c1", Shadows));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("create-1", Shadows));
        AssertRejected(RejectionCode.OperationIdReused, () => Reserve("add-member", Shadows));
        AssertRejected(RejectionCode.OperationIdReused, () => ChangePlan("r1", "owner", PlanTier.Max));

        // Feature names are case-insensitive, so this is the same request: a replay.
        var replay = Reserve("r1", new GenerationSpec("AI-Shadows"), 2);
        Assert.True(replay.Result.Replayed);
    }

    [Fact]
    public void Settling_a_hold_that_is_not_the_users_is_hold_not_found()
    {
        CreateTeamSpace();
        Ok(Reserve("mine", Shadows, 2, "member"));
        Ok(Reserve("done", Shadows, 1, "member"));
        Ok(Commit("done-commit", "done", null, "member"));

        var unknown = AssertRejected(RejectionCode.HoldNotFound, () => Commit("c1", "no-such-hold"));
        Assert.Equal("no-such-hold", unknown.HoldId);
        AssertRejected(RejectionCode.HoldNotFound, () => Refund("f1", "no-such-hold"));
        AssertRejected(RejectionCode.HoldNotFound, () => Commit("c2", "mine"));
        AssertRejected(RejectionCode.HoldNotFound, () => Refund("f2", "mine", [0], "admin"));

        Ok(Commit("c4", "mine", null, "member"));
    }

    [Fact]
    public void Settling_after_the_ttl_is_hold_expired()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Recolor, 2));
        Ok(Commit("c1", "r1", [0]));
        var expired = Assert.IsType<HoldExpired>(Assert.Single(AdvanceTo(T0 + Ttl)));
        Assert.Equal(1, expired.Items);

        var result = AssertRejected(RejectionCode.HoldExpired, () => Commit("c2", "r1", [1]));
        Assert.Equal("r1", result.HoldId);
        AssertRejected(RejectionCode.HoldExpired, () => Refund("f1", "r1"));
        AssertRejected(RejectionCode.HoldExpired, () => Commit("c3", "r1"));
        Assert.Equal(4, State.Used);
        Assert.Equal(0, State.Held);

        // Retrying the reserve replays its first outcome; it does not hold the credits again.
        var retry = Reserve("r1", Recolor, 2);
        Assert.True(retry.Result.Replayed);
        Assert.Equal("r1", retry.Result.HoldId);
        Assert.Empty(retry.Events);
        Assert.Equal(0, State.Held);
        Assert.Empty(State.Holds);
    }

    [Fact]
    public void Settling_one_tick_before_the_ttl_succeeds()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Recolor, 2));
        Now = T0 + Ttl - TimeSpan.FromTicks(1);

        var outcome = Commit("c1", "r1");

        Assert.Equal(8, Ok(outcome).CommittedCredits);
        Assert.IsType<HoldCommitted>(Assert.Single(outcome.Events));
        Assert.Equal(8, State.Used);
    }

    [Fact]
    public void Settling_an_item_twice_is_item_already_settled()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Recolor, 3));
        Ok(Commit("c1", "r1", [1]));
        Ok(Refund("f1", "r1", [2]));

        AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("c2", "r1", [1]));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("c3", "r1", [0, 1]));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Refund("f2", "r1", [2]));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Refund("f3", "r1", [0, 2]));

        Assert.Equal(HoldItemStatus.Pending, State.Holds["r1"].Items[0]);
        Assert.Equal(4, State.Held);
        Assert.Equal(4, State.Used);
    }

    [Fact]
    public void Settling_a_fully_settled_hold_again_is_item_already_settled_and_a_retry_replays()
    {
        CreateTeamSpace();
        Ok(Reserve("committed", Recolor, 2));
        var commit = Ok(Commit("commit", "committed"));
        Ok(Reserve("refunded", Recolor, 2));
        Ok(Refund("refund", "refunded"));
        Ok(Reserve("mixed", Recolor, 2));
        Ok(Commit("mixed-commit", "mixed", [0]));
        Ok(Refund("mixed-refund", "mixed", [1]));
        Assert.Empty(State.Holds);

        // New operations on a closed hold, whole or by item, commit after commit, refund after commit, commit after
        // refund: the items are already settled. Nothing changes.
        var again = AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("commit-2", "committed"));
        Assert.Equal("committed", again.HoldId);
        Assert.Equal("Hold 'committed' is already settled: every item was committed or refunded.", again.Rejection!.Message);
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Refund("refund-after-commit", "committed"));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("commit-item", "committed", [1]));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("commit-after-refund", "refunded"));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Refund("refund-2", "refunded", [0]));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("commit-mixed", "mixed"));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Refund("refund-mixed", "mixed", [0, 1]));

        // The same operation again is a retry: its first outcome, nothing charged twice.
        var retry = Commit("commit", "committed");
        Assert.Equal(commit with { Replayed = true }, retry.Result);
        Assert.Empty(retry.Events);
        Assert.Equal((12L, 0L), (State.Used, State.Held));
    }

    [Fact]
    public void A_settled_hold_the_Space_no_longer_remembers_is_hold_not_found()
    {
        CreateTeamSpace();
        Ok(Reserve("r1", Recolor));
        Ok(Commit("c1", "r1"));
        AssertRejected(RejectionCode.ItemAlreadySettled, () => Commit("c2", "r1"));

        // Past the retention window the Space has forgotten the closed hold: it can no longer tell it from none.
        AdvanceTo(T0 + QuotaRules.Default.Spaces.OperationIdRetention + TimeSpan.FromMinutes(1));
        Assert.Equal(0, Pool.ClosedHolds.Count);

        var forgotten = AssertRejected(RejectionCode.HoldNotFound, () => Commit("c3", "r1"));
        Assert.Equal("r1", forgotten.HoldId);
        Assert.Equal(4, State.Used);
    }

    [Fact]
    public void Reserve_that_does_not_fit_reports_available_required_and_next_renewal()
    {
        CreateTeamSpace();
        Spend("s1", 20);
        Ok(Reserve("r1", Recolor, 100));
        Assert.Equal(80, Available);

        // Exactly the available credits fit.
        var fits = Ok(Reserve("v4k", new GenerationSpec("virtual-model", MediaKind.Video, ResolutionTier.FourK)));
        Assert.Equal(80, fits.Credits);
        Assert.Equal(0, fits.Available);
        AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("one", Shadows));
        var full = AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("one", Shadows)).Rejection!;
        Assert.Equal(new Rejection(RejectionCode.InsufficientCredits, full.Message, 0, 1, Feb28), full);

        Ok(Refund("v4k-refund", "v4k"));
        var rejection = AssertRejected(
            RejectionCode.InsufficientCredits,
            () => Reserve("video", new GenerationSpec("ai-video", MediaKind.Video, ResolutionTier.Hd), 3)).Rejection!;

        Assert.Equal(80, rejection.Available);
        Assert.Equal(120, rejection.Required);
        Assert.Equal(Feb28, rejection.NextRenewal);
        Assert.Null(AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("video", new GenerationSpec("ai-video", MediaKind.Video, ResolutionTier.Hd), 3)).HoldId);
    }

    [Fact]
    public void Rejections_are_not_remembered_and_a_retry_can_succeed_later()
    {
        CreateTeamSpace(PlanTier.Free);
        Spend("s1", 100);
        AssertRejected(RejectionCode.InsufficientCredits, () => Reserve("r1", Shadows));

        AdvanceTo(Feb28);

        Ok(Reserve("r1", Shadows));
    }
}
