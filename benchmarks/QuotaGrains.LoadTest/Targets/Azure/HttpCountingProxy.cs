using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using HdrHistogram;

namespace QuotaGrains.LoadTest.Targets.Azure;

/// <summary>
/// A TCP proxy on a free loopback port in front of one Azurite service (blob or table), for a process whose storage
/// traffic the harness cannot see from inside (a silo in another process). It forwards every byte as it arrives, in
/// both directions, and counts them; beside that it follows the HTTP/1.1 messages (request line, headers,
/// <c>Content-Length</c> or chunked bodies; the Azure SDK neither pipelines nor uses HTTP/2 over plain http), so that
/// each request is counted by method, operation and status with its body bytes and its time from the request's first
/// byte to the response's last. The parser only watches: if it lost track, forwarding would not change (it counts
/// <see cref="ParseErrors"/>). A response cut off by a closed connection is counted apart, by the side that closed
/// first (the silo, e.g. its network timeout, or Azurite) with the body bytes that had passed.
/// </summary>
public sealed class HttpCountingProxy : IAsyncDisposable
{
    private const int BufferBytes = 64 * 1024;

    private readonly TcpListener _listener;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, KindStats> _kinds = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _closes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly Task _accepting;
    private long _accepted;
    private long _bytesToUpstream;
    private long _bytesFromUpstream;
    private long _requests;
    private long _responseBodyBytes;
    private long _cutResponses;
    private long _cutBodyBytes;
    private long _parseErrors;

    private HttpCountingProxy(string service, TcpListener listener, int upstreamPort)
    {
        Service = service;
        _listener = listener;
        _upstreamPort = upstreamPort;
        _accepting = Task.Run(AcceptAsync);
    }

    /// <summary>"blob" or "table": the label of its rows.</summary>
    public string Service { get; }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public long Connections => Interlocked.Read(ref _accepted);

    /// <summary>Bytes the silo sent (requests, headers included).</summary>
    public long BytesToUpstream => Interlocked.Read(ref _bytesToUpstream);

    /// <summary>Bytes Azurite sent back (responses, headers included), cut-off responses included.</summary>
    public long BytesFromUpstream => Interlocked.Read(ref _bytesFromUpstream);

    /// <summary>Requests answered completely.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Body bytes of completely received responses.</summary>
    public long ResponseBodyBytes => Interlocked.Read(ref _responseBodyBytes);

    /// <summary>Responses (or requests without a response) ended by a closed connection.</summary>
    public long CutResponses => Interlocked.Read(ref _cutResponses);

    /// <summary>Body bytes of cut-off responses that passed before the connection closed.</summary>
    public long CutBodyBytes => Interlocked.Read(ref _cutBodyBytes);

    public long ParseErrors => Interlocked.Read(ref _parseErrors);

    public static HttpCountingProxy Start(string service, int upstreamPort)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(512);
        return new HttpCountingProxy(service, listener, upstreamPort);
    }

    /// <summary>One row per "method operation status" (and per kind of cut), busiest first.</summary>
    public IReadOnlyList<ProxyKindRow> Rows() => _kinds
        .Select(p => p.Value.Row(Service, p.Key))
        .OrderByDescending(r => r.Count)
        .ToList();

    /// <summary>How connections ended: which side closed first, and whether by a reset.</summary>
    public IReadOnlyDictionary<string, long> Closes => new SortedDictionary<string, long>(_closes, StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        await _accepting.ContinueWith(static _ => { }, TaskScheduler.Default);
        await Task.WhenAny(Task.WhenAll(_connections.Keys), Task.Delay(TimeSpan.FromSeconds(5)));
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            var task = Task.Run(() => HandleAsync(client));
            _connections[task] = true;
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        using var clientSocket = client;
        clientSocket.NoDelay = true;
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stopping.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            _closes.AddOrUpdate("Azurite refused the connection", 1, static (_, n) => n + 1);
            return;
        }

        var connection = new Connection(this);
        await using var fromClient = new NetworkStream(clientSocket, ownsSocket: false);
        await using var toUpstream = new NetworkStream(upstream, ownsSocket: false);
        var up = PumpAsync(fromClient, toUpstream, connection.Requests, toUpstream: true);
        var down = PumpAsync(toUpstream, fromClient, connection.Responses, toUpstream: false);
        var first = await Task.WhenAny(up, down);
        var (end, _) = await first;

        // Either side ending ends the connection (HTTP/1.1 keep-alive: nobody half-closes and waits for more).
        clientSocket.Close();
        upstream.Close();
        await Task.WhenAll(up, down);
        var closedBy = first == up ? "silo" : "Azurite";
        _closes.AddOrUpdate($"{closedBy} {end}", 1, static (_, n) => n + 1);
        connection.Closed(closedBy);
    }

    private async Task<(string End, long Bytes)> PumpAsync(NetworkStream from, NetworkStream to, HttpMessageParser parser, bool toUpstream)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
        long bytes = 0;
        try
        {
            while (true)
            {
                var read = await from.ReadAsync(buffer.AsMemory(0, BufferBytes), _stopping.Token);
                if (read == 0)
                {
                    return ("closed", bytes);
                }

                bytes += read;
                if (toUpstream)
                {
                    Interlocked.Add(ref _bytesToUpstream, read);
                }
                else
                {
                    Interlocked.Add(ref _bytesFromUpstream, read);
                }

                parser.Feed(buffer.AsSpan(0, read));
                await to.WriteAsync(buffer.AsMemory(0, read), _stopping.Token);
            }
        }
        catch (IOException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            return ("reset", bytes);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return ("aborted", bytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Record(string key, long requestBytes, long responseBytes, long elapsedTicks)
    {
        var stats = _kinds.GetOrAdd(key, static _ => new KindStats());
        stats.Add(requestBytes, responseBytes, elapsedTicks);
    }

    /// <summary>"GET blob", "HEAD blob", "PUT appendblock", "GET list", "POST $batch", "GET entity QuotaState", …</summary>
    internal static string Operation(string service, string method, string target)
    {
        var question = target.IndexOf('?', StringComparison.Ordinal);
        var path = Uri.UnescapeDataString(question < 0 ? target : target[..question]);
        var query = question < 0 ? "" : target[(question + 1)..];
        string? Query(string name) => query.Split('&').Select(p => p.Split('=', 2)).FirstOrDefault(p => p[0] == name) is { Length: 2 } pair ? pair[1] : null;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (service == "blob")
        {
            if (Query("comp") is { } comp)
            {
                return $"{method} {comp}";
            }

            if (Query("restype") is { } restype)
            {
                return $"{method} {restype}";
            }

            return $"{method} blob";
        }

        // Table: /account/Tables, /account/$batch, /account/Table(PartitionKey='…',RowKey='…'), /account/Table()?$filter=…
        var resource = segments.Length > 1 ? segments[1] : "";
        if (resource.StartsWith("$batch", StringComparison.Ordinal))
        {
            return $"{method} $batch";
        }

        var paren = resource.IndexOf('(', StringComparison.Ordinal);
        var table = paren < 0 ? resource : resource[..paren];
        if (table == "Tables")
        {
            return $"{method} Tables";
        }

        var entity = paren >= 0 && resource.Length > paren + 2;
        return $"{method} {(entity ? "entity" : "query")} {table}";
    }

    /// <summary>Counters of one kind of request; the durations in microseconds. Under a lock: a row may be read while
    /// requests are still being recorded, and a histogram cannot be read while it is written.</summary>
    private sealed class KindStats
    {
        private readonly Lock _lock = new();
        private readonly LongHistogram _micros = new(3_600_000_000, 3);
        private long _count;
        private long _requestBytes;
        private long _responseBytes;

        public void Add(long requestBytes, long responseBytes, long elapsedTicks)
        {
            var micros = (long)(elapsedTicks * 1_000_000.0 / Stopwatch.Frequency);
            lock (_lock)
            {
                _count++;
                _requestBytes += requestBytes;
                _responseBytes += responseBytes;
                _micros.RecordValue(Math.Clamp(micros, 1, _micros.HighestTrackableValue));
            }
        }

        public ProxyKindRow Row(string service, string key)
        {
            static double Ms(long micros) => Math.Round(micros / 1000.0, 1);
            lock (_lock)
            {
                var empty = _micros.TotalCount == 0;
                return new ProxyKindRow(service, key, _count, _requestBytes, _responseBytes,
                    empty ? 0 : Ms(_micros.GetValueAtPercentile(50)), empty ? 0 : Ms(_micros.GetValueAtPercentile(99)), empty ? 0 : Ms(_micros.GetMaxValue()));
            }
        }
    }

    /// <summary>One connection: requests seen going up wait in order for their responses coming down.</summary>
    private sealed class Connection
    {
        private readonly HttpCountingProxy _proxy;
        private readonly ConcurrentQueue<PendingRequest> _pending = new();
        private PendingRequest? _receiving;
        private int _status;
        private long _requestStartedAt;

        public Connection(HttpCountingProxy proxy)
        {
            _proxy = proxy;
            Requests = new HttpMessageParser(
                onStart: () => _requestStartedAt = Stopwatch.GetTimestamp(),
                onHead: RequestHead,
                onComplete: body =>
                {
                    if (_receiving is { } request)
                    {
                        request.BodyBytes = body;
                    }
                },
                onError: () => Interlocked.Increment(ref _proxy._parseErrors));
            Responses = new HttpMessageParser(
                onStart: static () => { },
                onHead: ResponseHead,
                onComplete: ResponseComplete,
                onError: () => Interlocked.Increment(ref _proxy._parseErrors));
        }

        public HttpMessageParser Requests { get; }

        public HttpMessageParser Responses { get; }

        /// <summary>The connection ended: whatever was not answered completely was cut off.</summary>
        public void Closed(string closedBy)
        {
            var partial = Responses.InMessage ? Responses.BodyBytesSoFar : 0;
            while (_pending.TryDequeue(out var request))
            {
                Interlocked.Increment(ref _proxy._cutResponses);
                Interlocked.Add(ref _proxy._cutBodyBytes, partial);
                _proxy.Record($"{request.Operation} cut off ({closedBy} closed first)", request.BodyBytes, partial, Stopwatch.GetTimestamp() - request.StartedAt);
                partial = 0;
            }
        }

        private BodyKind RequestHead(HttpHead head)
        {
            var request = new PendingRequest(head.First, HttpCountingProxy.Operation(_proxy.Service, head.First, head.Second), _requestStartedAt);
            _receiving = request;
            _pending.Enqueue(request);
            return head.Chunked ? BodyKind.Chunked : head.ContentLength is > 0 ? BodyKind.Length : BodyKind.None;
        }

        private BodyKind ResponseHead(HttpHead head)
        {
            if (!int.TryParse(head.Second, out var status) || !_pending.TryPeek(out var request))
            {
                Interlocked.Increment(ref _proxy._parseErrors);
                return BodyKind.UntilClose;
            }

            if (status is >= 100 and < 200)
            {
                return BodyKind.Interim;
            }

            _status = status;
            if (request.Method == "HEAD" || status is 204 or 304)
            {
                return BodyKind.None;
            }

            return head.Chunked ? BodyKind.Chunked : head.ContentLength is { } length ? (length > 0 ? BodyKind.Length : BodyKind.None) : BodyKind.UntilClose;
        }

        private void ResponseComplete(long body)
        {
            if (!_pending.TryDequeue(out var request))
            {
                return;
            }

            Interlocked.Increment(ref _proxy._requests);
            Interlocked.Add(ref _proxy._responseBodyBytes, body);
            _proxy.Record($"{request.Operation} {_status}", request.BodyBytes, body, Stopwatch.GetTimestamp() - request.StartedAt);
        }
    }

    private sealed class PendingRequest(string method, string operation, long startedAt)
    {
        public string Method { get; } = method;

        public string Operation { get; } = operation;

        public long StartedAt { get; } = startedAt;

        public long BodyBytes { get; set; }
    }
}

/// <summary>One kind of request seen by a <see cref="HttpCountingProxy"/>: count, body bytes each way, and its time from
/// the request's first byte to the response's last (p50 / p99 / max, ms).</summary>
public sealed record ProxyKindRow(string Service, string Kind, long Count, long RequestBodyBytes, long ResponseBodyBytes, double P50Ms, double P99Ms, double MaxMs);

/// <summary>How a message's body is delimited.</summary>
internal enum BodyKind
{
    None,
    Length,
    Chunked,
    UntilClose,

    /// <summary>A 1xx response: no body, and the final response follows.</summary>
    Interim,
}

/// <summary>A message's start line (split in its first two tokens: method and target, or version and status) and the
/// headers that delimit its body.</summary>
internal readonly record struct HttpHead(string First, string Second, long? ContentLength, bool Chunked);

/// <summary>Follows the HTTP/1.1 messages of one direction of a connection, fed the bytes as they pass.</summary>
internal sealed class HttpMessageParser(Action onStart, Func<HttpHead, BodyKind> onHead, Action<long> onComplete, Action onError)
{
    private const int MaxHeadBytes = 64 * 1024;

    private byte[] _head = new byte[4096];
    private int _headLength;
    private readonly byte[] _line = new byte[1024];
    private int _lineLength;
    private State _state = State.Head;
    private long _remaining;
    private long _body;
    private bool _started;
    private bool _broken;

    private enum State
    {
        Head,
        Body,
        UntilClose,
        ChunkSize,
        ChunkData,
        ChunkDataEnd,
        Trailer,
    }

    /// <summary>Part of a message has arrived and not all of it.</summary>
    public bool InMessage => _started;

    public long BodyBytesSoFar => _body;

    public void Feed(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0 && !_broken)
        {
            switch (_state)
            {
                case State.Head:
                    if (!_started)
                    {
                        _started = true;
                        onStart();
                    }

                    data = FeedHead(data);
                    break;
                case State.Body:
                case State.ChunkData:
                {
                    var take = (int)Math.Min(_remaining, data.Length);
                    _remaining -= take;
                    _body += take;
                    data = data[take..];
                    if (_remaining == 0)
                    {
                        if (_state == State.Body)
                        {
                            Complete();
                        }
                        else
                        {
                            _state = State.ChunkDataEnd;
                            _remaining = 2;
                        }
                    }

                    break;
                }

                case State.ChunkDataEnd:
                {
                    var take = (int)Math.Min(_remaining, data.Length);
                    _remaining -= take;
                    data = data[take..];
                    if (_remaining == 0)
                    {
                        _state = State.ChunkSize;
                    }

                    break;
                }

                case State.UntilClose:
                    _body += data.Length;
                    data = default;
                    break;
                case State.ChunkSize:
                case State.Trailer:
                    data = FeedLine(data);
                    break;
            }
        }
    }

    private ReadOnlySpan<byte> FeedHead(ReadOnlySpan<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            if (_headLength == _head.Length)
            {
                if (_head.Length >= MaxHeadBytes)
                {
                    Break();
                    return default;
                }

                Array.Resize(ref _head, _head.Length * 2);
            }

            _head[_headLength++] = data[i];
            if (_headLength >= 4 && _head[_headLength - 1] == '\n' && _head[_headLength - 2] == '\r' && _head[_headLength - 3] == '\n' && _head[_headLength - 4] == '\r')
            {
                HeadDone();
                return data[(i + 1)..];
            }
        }

        return default;
    }

    private void HeadDone()
    {
        var text = Encoding.Latin1.GetString(_head, 0, _headLength);
        _headLength = 0;
        var lines = text.Split("\r\n");
        var start = lines[0].Split(' ', 3);
        if (start.Length < 2)
        {
            Break();
            return;
        }

        long? length = null;
        var chunked = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, out var n))
            {
                length = n;
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                chunked = true;
            }
        }

        _body = 0;
        switch (onHead(new HttpHead(start[0], start[1], length, chunked)))
        {
            case BodyKind.None:
                Complete();
                break;
            case BodyKind.Length:
                _state = State.Body;
                _remaining = length ?? 0;
                break;
            case BodyKind.Chunked:
                _state = State.ChunkSize;
                break;
            case BodyKind.UntilClose:
                _state = State.UntilClose;
                break;
            case BodyKind.Interim:
                _state = State.Head;
                break;
        }
    }

    private ReadOnlySpan<byte> FeedLine(ReadOnlySpan<byte> data)
    {
        for (var i = 0; i < data.Length; i++)
        {
            if (_lineLength == _line.Length)
            {
                Break();
                return default;
            }

            _line[_lineLength++] = data[i];
            if (data[i] != '\n')
            {
                continue;
            }

            var line = Encoding.Latin1.GetString(_line, 0, _lineLength).TrimEnd('\r', '\n');
            _lineLength = 0;
            if (_state == State.Trailer)
            {
                if (line.Length == 0)
                {
                    Complete();
                }
            }
            else
            {
                var semicolon = line.IndexOf(';', StringComparison.Ordinal);
                if (!long.TryParse(semicolon < 0 ? line : line[..semicolon], System.Globalization.NumberStyles.HexNumber, null, out var size) || size < 0)
                {
                    Break();
                    return default;
                }

                if (size == 0)
                {
                    _state = State.Trailer;
                }
                else
                {
                    _state = State.ChunkData;
                    _remaining = size;
                }
            }

            return data[(i + 1)..];
        }

        return default;
    }

    private void Complete()
    {
        var body = _body;
        _state = State.Head;
        _started = false;
        _body = 0;
        onComplete(body);
    }

    private void Break()
    {
        _broken = true;
        onError();
    }
}
