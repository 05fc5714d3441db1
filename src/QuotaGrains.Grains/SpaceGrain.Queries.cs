namespace QuotaGrains.Grains;

/// <summary>The usage page's reads: like the other reads, acknowledged state advanced to now, one copy on the turn.</summary>
internal sealed partial class SpaceGrain
{
    public Task<SpaceSummary?> GetSummaryAsync()
    {
        var view = _log.ReadView(out var now);
        return Task.FromResult(view.Summary(now));
    }
}
