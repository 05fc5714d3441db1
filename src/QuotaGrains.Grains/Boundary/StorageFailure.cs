using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace QuotaGrains.Grains.Boundary;

internal static class StorageFailure
{
    /// <summary>What a store's caller gets as <see cref="QuotaUnavailableException"/>: everything but what is typed
    /// already, an ETag conflict (<see cref="InconsistentStateException"/>, which Orleans and the grains act on) and
    /// the caller's own cancellation.</summary>
    public static bool IsToType(Exception exception, CancellationToken cancellationToken) =>
        exception is not (QuotaUnavailableException or InconsistentStateException)
        && !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);

    /// <summary>Runs a store's <paramref name="operation"/>; a failure to type becomes <paramref name="unavailable"/>'s
    /// exception (which logs it).</summary>
    public static async Task RunAsync(Func<Task> operation, CancellationToken cancellationToken, Func<Exception, QuotaUnavailableException> unavailable)
    {
        try
        {
            await operation();
        }
        catch (Exception exception) when (IsToType(exception, cancellationToken))
        {
            throw unavailable(exception);
        }
    }

    /// <inheritdoc cref="RunAsync(Func{Task}, CancellationToken, Func{Exception, QuotaUnavailableException})"/>
    public static async Task<T> RunAsync<T>(Func<Task<T>> operation, CancellationToken cancellationToken, Func<Exception, QuotaUnavailableException> unavailable)
    {
        try
        {
            return await operation();
        }
        catch (Exception exception) when (IsToType(exception, cancellationToken))
        {
            throw unavailable(exception);
        }
    }

    /// <summary>Replaces the last registration of <typeparamref name="TService"/> by <paramref name="decorate"/> applied
    /// to what it registered (same lifetime).</summary>
    public static void Decorate<TService>(IServiceCollection services, Func<IServiceProvider, TService, TService> decorate)
        where TService : class
    {
        var registered = services.LastOrDefault(s => s.ServiceType == typeof(TService) && !s.IsKeyedService)
            ?? throw new InvalidOperationException($"No {typeof(TService).Name} is registered.");
        services.Remove(registered);
        services.Add(new ServiceDescriptor(typeof(TService), sp => decorate(sp, Create(sp)), registered.Lifetime));

        TService Create(IServiceProvider sp) => (TService)(
            registered.ImplementationInstance
            ?? registered.ImplementationFactory?.Invoke(sp)
            ?? ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!));
    }
}
