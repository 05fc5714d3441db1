using System.Diagnostics.Metrics;
using System.Globalization;

namespace QuotaGrains.LoadTest.Targets.Azure;

/// <summary>
/// Counts the HTTP requests this process sends to Azurite's blob and table services while measuring, from .NET's own
/// <c>System.Net.Http</c> meter (<c>http.client.request.duration</c>, tagged with the server's port): every storage
/// write and read the engine makes, whichever code path made it (journal appends, snapshots, ledger batches, reads).
/// </summary>
public sealed class AzureRequestCounter : IDisposable
{
    private readonly int _blobPort;
    private readonly int _tablePort;
    private readonly MeterListener _listener;
    private volatile bool _measuring;
    private long _blob;
    private long _table;
    private long _failed;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _byKind = new(StringComparer.Ordinal);

    public AzureRequestCounter(int blobPort, int tablePort)
    {
        _blobPort = blobPort;
        _tablePort = tablePort;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "System.Net.Http" && instrument.Name == "http.client.request.duration")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<double>((_, _, tags, _) => OnRequest(tags));
        _listener.Start();
    }

    public bool Measuring
    {
        get => _measuring;
        set => _measuring = value;
    }

    public long BlobRequests => Interlocked.Read(ref _blob);

    public long TableRequests => Interlocked.Read(ref _table);

    /// <summary>Requests answered with a status of 400 or more, or that failed without an answer.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public long Total => BlobRequests + TableRequests;

    public void Describe(IDictionary<string, string> values, double seconds, double engineRequests)
    {
        static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
        values["Azurite HTTP requests: blob / table (measured window)"] = $"{N(BlobRequests)} / {N(TableRequests)}";
        values["Azurite HTTP requests per s: blob / table"] = seconds > 0 ? $"{N(BlobRequests / seconds)} / {N(TableRequests / seconds)}" : "-";
        values["Azurite HTTP requests failed (status ≥ 400 or no answer)"] = N(Failed);
        values["Azurite HTTP requests by service, method and status"] = string.Join(", ",
            _byKind.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {N(p.Value)}"));
        values["requests per Azurite request (all storage traffic)"] = Total == 0 ? "-" : (engineRequests / Total).ToString("0.0", CultureInfo.InvariantCulture);
    }

    public void Dispose() => _listener.Dispose();

    private void OnRequest(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!_measuring)
        {
            return;
        }

        int? port = null;
        var failed = false;
        string? method = null;
        object? status = null;
        foreach (var tag in tags)
        {
            switch (tag.Key)
            {
                case "server.port":
                    port = tag.Value switch { int i => i, long l => (int)l, string s when int.TryParse(s, out var p) => p, _ => null };
                    break;
                case "http.response.status_code":
                    status = tag.Value;
                    failed |= tag.Value is int code && code >= 400;
                    break;
                case "http.request.method":
                    method = tag.Value as string;
                    break;
                case "error.type":
                    failed = true;
                    break;
            }
        }

        string service;
        if (port == _blobPort)
        {
            Interlocked.Increment(ref _blob);
            service = "blob";
        }
        else if (port == _tablePort)
        {
            Interlocked.Increment(ref _table);
            service = "table";
        }
        else
        {
            return;
        }

        _byKind.AddOrUpdate($"{service} {method ?? "?"} {status ?? "-"}", 1, static (_, n) => n + 1);

        if (failed)
        {
            Interlocked.Increment(ref _failed);
        }
    }
}
