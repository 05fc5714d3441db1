namespace QuotaGrains.Tests.Cluster;

[Collection(QuotaClusterCollection.Name)]
public sealed class SmokeTests(QuotaClusterFixture fixture)
{
    [Fact]
    public async Task Reserve_then_commit_charges_the_pool_once()
    {
        var spaceId = await fixture.CreateSpaceAsync(PlanTier.Pro, "alice");

        await using var hold = await fixture.Quota.ReserveAsync("alice", spaceId, new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd));
        Assert.True(hold.Succeeded, hold.Rejection?.ToString());
        var committed = await hold.CommitAsync();

        Assert.Equal(8, committed.CommittedCredits);
        var balance = await fixture.Quota.GetBalanceAsync(spaceId);
        Assert.NotNull(balance);
        Assert.Equal(500, balance.Allowance);
        Assert.Equal(8, balance.Used);
        Assert.Equal(0, balance.Held);
    }
}
