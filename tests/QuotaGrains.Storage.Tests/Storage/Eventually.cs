namespace QuotaGrains.Tests.Storage;

/// <summary>Waits on a condition that background work makes true (a read started, a waiter queued), bounded.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(5);
        }
    }
}
