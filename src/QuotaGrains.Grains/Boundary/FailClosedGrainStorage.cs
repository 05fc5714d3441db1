using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using QuotaGrains.Grains.Diagnostics;

namespace QuotaGrains.Grains.Boundary;

/// <summary>
/// The engine's grain storage provider as configured (Azure Table or memory), with its failures typed: a read, write
/// or clear that fails throws <see cref="QuotaUnavailableException"/> naming the cause (logged here in full), except an
/// ETag conflict (<see cref="InconsistentStateException"/>), which Orleans and the grains act on.
/// </summary>
/// <remarks>
/// Grain state is loaded while a grain activates, before the grain is called: when that load fails, Orleans rejects the
/// calls waiting for the activation with the load's exception (<c>ActivationData</c>: the activation fails,
/// <c>RejectAllQueuedMessages</c> sends its exception back), and the state bridge (<c>StateStorageBridge.OnError</c>)
/// wraps whatever is not an <see cref="OrleansException"/>, with the storage SDK's exception inside. A
/// <see cref="QuotaUnavailableException"/> is an <see cref="OrleansException"/> and is passed on as it is.
/// </remarks>
internal sealed class FailClosedGrainStorage(string name, IGrainStorage inner, ILogger<FailClosedGrainStorage> logger)
    : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.ReadStateAsync(stateName, grainId, grainState, cancellationToken), cancellationToken, e => Unavailable(e, "read", stateName, grainId));

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.WriteStateAsync(stateName, grainId, grainState, cancellationToken), cancellationToken, e => Unavailable(e, "written", stateName, grainId));

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        StorageFailure.RunAsync(() => inner.ClearStateAsync(stateName, grainId, grainState, cancellationToken), cancellationToken, e => Unavailable(e, "cleared", stateName, grainId));

    /// <summary>The provider's own start (Azure Table creates its table), which Orleans would have run had it not been wrapped.</summary>
    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);

    /// <summary>Wraps the grain storage provider registered as <paramref name="name"/> (register it first), keeping each
    /// grain's state in a row of its own (<see cref="RowPerGrainStorage"/>).</summary>
    internal static void Decorate(IServiceCollection services, string name)
    {
        var registered = services.LastOrDefault(s => s.ServiceType == typeof(IGrainStorage) && s.IsKeyedService && Equals(s.ServiceKey, name))
            ?? throw new InvalidOperationException($"No grain storage named '{name}' is registered.");
        var factory = registered.KeyedImplementationFactory
            ?? throw new InvalidOperationException($"The grain storage named '{name}' is not registered by a factory.");
        services.Remove(registered);
        services.AddKeyedSingleton<IGrainStorage>(name, (sp, key) => new FailClosedGrainStorage(
            name, new RowPerGrainStorage((IGrainStorage)factory(sp, key)), sp.GetRequiredService<ILogger<FailClosedGrainStorage>>()));
    }

    private QuotaUnavailableException Unavailable(Exception exception, string done, string stateName, GrainId grainId)
    {
        QuotaLog.GrainStorageFailed(logger, exception, name, done, stateName, grainId);
        return new QuotaUnavailableException($"The state '{stateName}' of {grainId} could not be {done}; the outcome is unknown.", exception);
    }
}
