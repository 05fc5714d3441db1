using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Silo.Health;

/// <summary>
/// Whether the engine's storage answers: with Azure storage, one existence check of the journal's blob container and a
/// one-row query of the state table, bounded by <c>Quota:Storage:OperationTimeout</c>. The answer is kept for
/// <see cref="CacheFor"/>: probes of several kinds every few seconds cost at most one pair of requests per interval,
/// and concurrent probes share the one in flight. Memory storage always answers.
/// </summary>
internal sealed class StorageHealthCheck : IHealthCheck
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly QuotaStorageOptions _storage;
    private readonly BlobContainerClient? _journal;
    private readonly TableClient? _state;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private Task<HealthCheckResult>? _last;
    private DateTimeOffset _lastAt;

    public StorageHealthCheck(IOptions<QuotaStorageOptions> storage, IOptions<JournalOptions> journal, TimeProvider time)
    {
        _storage = storage.Value;
        _time = time;
        if (_storage.IsAzure && !string.IsNullOrWhiteSpace(_storage.ConnectionString))
        {
            var blobs = new BlobClientOptions();
            blobs.Retry.MaxRetries = 0;
            blobs.Retry.NetworkTimeout = _storage.OperationTimeout;
            var tables = new TableClientOptions();
            tables.Retry.MaxRetries = 0;
            tables.Retry.NetworkTimeout = _storage.OperationTimeout;
            _journal = new BlobContainerClient(_storage.ConnectionString, journal.Value.Container, blobs);
            _state = new TableClient(_storage.ConnectionString, _storage.StateTable, tables);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_journal is null || _state is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"Storage '{_storage.Kind}' is in memory."));
        }

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_last is null || (_last.IsCompleted && now - _lastAt >= CacheFor))
            {
                _lastAt = now;
                _last = ProbeAsync(_journal, _state, _storage.OperationTimeout);
            }

            return _last;
        }
    }

    private static async Task<HealthCheckResult> ProbeAsync(BlobContainerClient journal, TableClient state, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await journal.ExistsAsync(deadline.Token);

            // A row that never exists: the query costs one request and reads nothing.
            var rows = state.QueryAsync<TableEntity>(filter: "PartitionKey eq '~health'", maxPerPage: 1, cancellationToken: deadline.Token);
            await foreach (var _ in rows.AsPages(pageSizeHint: 1).WithCancellation(deadline.Token))
            {
                break;
            }
            return HealthCheckResult.Healthy($"Blob container '{journal.Name}' and table '{state.Name}' answered.");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy($"Storage did not answer within {timeout.TotalSeconds:0.#} s: {e.GetType().Name}: {FirstLine(e.Message)}");
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
