namespace QuotaGrains.Grains;

internal static class GrainStates
{
    /// <summary>The grain's persistent state <paramref name="stateName"/> in the storage provider <paramref name="storageName"/>
    /// (loaded while the grain activates).</summary>
    public static IPersistentState<TState> Create<TState>(this IPersistentStateFactory factory, IGrainContext grain, string stateName, string storageName) =>
        factory.Create<TState>(grain, new Configuration(stateName, storageName));

    private sealed record Configuration(string StateName, string StorageName) : IPersistentStateConfiguration;
}
