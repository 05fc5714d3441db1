using Orleans.Concurrency;

namespace QuotaGrains;

/// <summary>The fleet view for operators (one grain, key <see cref="Key"/>), fed by the Spaces' reports.</summary>
[Alias("QuotaGrains.IFleetGrain")]
public interface IFleetGrain : IGrainWithIntegerKey
{
    public const long Key = 0;

    /// <summary>The view now, with at most <paramref name="top"/> Spaces in each list (1 to 1,000; <c>null</c>: the
    /// configured <c>Quota:Fleet:Top</c>).</summary>
    [Alias("GetFleet"), AlwaysInterleave]
    Task<FleetView> GetFleetAsync(int? top = null);
}
