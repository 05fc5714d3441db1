using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Journal;

/// <summary>Bounds the silo's background snapshot writes in flight (<see cref="JournalOptions.MaxSnapshotWritesInFlight"/>):
/// past the bound they queue here, in order, rather than in the Table service.</summary>
internal sealed class SnapshotWriteLimiter(IOptions<JournalOptions> options)
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxSnapshotWritesInFlight, options.Value.MaxSnapshotWritesInFlight);

    /// <summary>Runs <paramref name="write"/> once a slot is free; a write still waiting when
    /// <paramref name="cancellationToken"/> is cancelled does not run (a final snapshot past the silo's shutdown deadline).</summary>
    public async Task RunAsync(Func<Task> write, CancellationToken cancellationToken = default)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            await write();
        }
        finally
        {
            _slots.Release();
        }
    }
}
