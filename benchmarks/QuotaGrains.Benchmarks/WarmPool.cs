using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Benchmarks;

/// <summary>Builds a Space as the engine holds it after some traffic: created (Enterprise, so it never runs dry),
/// a few members, and <c>operations</c> reserve → commit flows remembered for replay (the engine keeps operation ids
/// and closed holds for 24 hours by default, so a busy Space carries many).</summary>
internal static class WarmPool
{
    public static readonly DateTimeOffset Start = new(2026, 1, 15, 10, 0, 0, TimeSpan.Zero);

    public static readonly GenerationSpec Spec = new("virtual-model", MediaKind.Image, ResolutionTier.Hd);

    public static SpacePool Create(int operations, int members = 8, string spaceId = "space-bench")
    {
        var pool = new SpacePool(spaceId, new SpaceState(), QuotaRules.Default);
        var now = Start;
        Ensure(pool.Create(new CreateSpaceRequest("create", "owner", PlanTier.Enterprise, CustomAllowance: 1_000_000_000_000), now).Result);
        for (var m = 1; m < members; m++)
        {
            Ensure(pool.AddMember(new AddMemberRequest($"add-{m}", "owner", $"member-{m}", SpaceRole.Member), now).Result);
        }

        for (var i = 0; i < operations; i++)
        {
            now = now.AddMilliseconds(1);
            var user = i % members == 0 ? "owner" : $"member-{i % members}";
            var reserved = pool.Reserve(user, new ReserveRequest($"warm-{i}", Spec), now).Result;
            Ensure(reserved);
            Ensure(pool.Commit(user, new SettleRequest($"warm-{i}:c1", reserved.HoldId!), now).Result);
        }

        return pool;
    }

    public static void Ensure(OperationResult result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(result.Rejection!.ToString());
        }
    }
}
