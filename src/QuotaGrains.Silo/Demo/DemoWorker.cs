using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using QuotaGrains.Client;
using QuotaGrains.Silo.Options;

namespace QuotaGrains.Silo.Demo;

/// <summary>
/// <c>--demo</c>: creates a few Spaces and spends from them through the in-process client, as generation servers
/// would, printing every step so that a newcomer sees credits move.
/// </summary>
internal sealed class DemoWorker(IHostApplicationLifetime lifetime, IQuotaClient quota, IOptions<QuotaSiloOptions> silo) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await WhenStartedAsync(stoppingToken);
        var run = DateTimeOffset.UtcNow.ToString("HHmmss");
        var acme = $"acme-{run}";
        var globex = $"globex-{run}";

        Say($"Creating Space '{acme}' (Pro, monthly) owned by alice, with bob as a member.");
        Check(await quota.CreateSpaceAsync(acme, new CreateSpaceRequest($"create-{acme}", "alice", PlanTier.Pro), stoppingToken));
        Check(await quota.AddMemberAsync(acme, new AddMemberRequest($"add-bob-{acme}", "alice", "bob", SpaceRole.Member), stoppingToken));
        Say($"Creating Space '{globex}' (Free) owned by carol.");
        Check(await quota.CreateSpaceAsync(globex, new CreateSpaceRequest($"create-{globex}", "carol", PlanTier.Free), stoppingToken));
        await ShowAsync(acme, stoppingToken);

        Say("alice generates a Virtual Model image in HD (4 × 2 = 8 credits): reserve, generate, commit.");
        var run1 = await quota.RunAsync("alice", acme, new GenerationSpec("virtual-model", MediaKind.Image, ResolutionTier.Hd),
            _ => Task.FromResult("image.png"), cancellationToken: stoppingToken);
        Say($"  → {(run1.Succeeded ? $"charged {run1.Reservation.Credits} credits" : run1.Rejection)}");
        await ShowAsync(acme, stoppingToken);

        Say("bob tries a video (20 credits) but the generation fails: the hold is refunded.");
        try
        {
            await quota.RunAsync<string>("bob", acme, new GenerationSpec("ai-video", MediaKind.Video), _ => throw new InvalidOperationException("GPU lost"), cancellationToken: stoppingToken);
        }
        catch (InvalidOperationException e)
        {
            Say($"  → generation failed ({e.Message}); nothing charged.");
        }

        await ShowAsync(acme, stoppingToken);

        Say("bob recolors a batch of 10 images (4 credits each, all-or-nothing); items 3 and 7 fail.");
        await using (var batch = await quota.ReserveAsync("bob", acme, new GenerationSpec("recolor"), 10, cancellationToken: stoppingToken))
        {
            Say($"  → held {batch.Credits} credits for {batch.Reservation.Items} items");
            var committed = await batch.CommitAsync([0, 1, 2, 4, 5, 6, 8, 9], stoppingToken);
            Say($"  → committed {committed.CommittedCredits}; the 2 failed items are refunded when the hold is disposed");
        }

        await ShowAsync(acme, stoppingToken);

        Say("Removing the background is free: no credits, not a generation.");
        await using (var free = await quota.ReserveAsync("alice", acme, new GenerationSpec("background-removal"), cancellationToken: stoppingToken))
        {
            Say($"  → free: {free.Reservation.IsFree}, credits {free.Credits}");
        }

        Say("dave, who is not a member, tries to spend from the Space:");
        await using (var stranger = await quota.ReserveAsync("dave", acme, new GenerationSpec("ai-shadows"), cancellationToken: stoppingToken))
        {
            Say($"  → {stranger.Rejection}");
        }

        Say($"carol spends her Free Space's 100 credits on 4K Ghost Mannequin images (16 credits each) until refused:");
        for (var i = 0; ; i++)
        {
            await using var hold = await quota.ReserveAsync("carol", globex, new GenerationSpec("ghost-mannequin", MediaKind.Image, ResolutionTier.FourK), cancellationToken: stoppingToken);
            if (!hold.Succeeded)
            {
                var r = hold.Rejection!;
                Say($"  → image {i + 1} refused: {r.Code}, available {r.Available}, required {r.Required}, renews at {r.NextRenewal:u}");
                break;
            }

            await hold.CommitAsync(cancellationToken: stoppingToken);
            Say($"  → image {i + 1} charged {hold.Credits}");
        }

        await ShowAsync(globex, stoppingToken);

        // With the usage page on (Quota:UsagePage:Enabled and a SigningKey), bob's page for an hour.
        var link = await quota.CreateUsagePageLinkAsync(acme, "bob", TimeSpan.FromHours(1), stoppingToken);
        Say(link.Succeeded
            ? $"bob's usage page, for an hour: http://127.0.0.1:{silo.Value.HttpPort}{link.Path}"
            : $"No usage page link: {link.Rejection!.Message}");
        Say("Demo done. The engine keeps running; press Ctrl+C to stop.");
    }

    private async Task ShowAsync(string spaceId, CancellationToken cancellationToken)
    {
        var b = await quota.GetBalanceAsync(spaceId, cancellationToken);
        if (b is not null)
        {
            Say($"  [{b.SpaceId}] {b.Plan}: allowance {b.Allowance}, used {b.Used}, held {b.Held}, available {b.Available}; renews {b.NextRenewal:u}");
        }
    }

    private static void Check(CommandResult result)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Demo step refused: {result.Rejection}");
        }
    }

    private Task WhenStartedAsync(CancellationToken cancellationToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        cancellationToken.Register(() => started.TrySetCanceled(cancellationToken));
        return started.Task;
    }

    private static void Say(string line) => Console.WriteLine($"demo  {line}");
}
