using System.Buffers;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Serialization;
using Orleans.Storage;
using QuotaGrains.Domain.Spaces;

namespace QuotaGrains.Benchmarks;

/// <summary>
/// A Space's snapshot state through Orleans serialization: the binary serializer (what the snapshot stores use), the
/// deep copy the Space grain takes of its durable state before each snapshot, and the grain storage serializer a silo
/// has by default (Newtonsoft JSON), for comparison. A snapshot carries the operation ids of its most recent events for
/// replay (at most <c>MaxSnapshotOperations</c>, default 2,000), so its size, and these costs, grow with the Space's
/// recent traffic up to that bound.
/// </summary>
public class SerializationBenchmarks
{
    private Serializer<SpaceState> _serializer = null!;
    private DeepCopier<SpaceState> _copier = null!;
    private IHost _host = null!;
    private IGrainStorageSerializer _storageSerializer = null!;
    private BinaryData _json = null!;
    private SpaceState _state = null!;
    private SpaceState _snapshot = null!;
    private byte[] _bytes = [];
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 20);

    /// <summary>Reserve → commit flows the Space remembers (each leaves two operation records and a closed hold).</summary>
    [Params(10, 2_000)]
    public int Operations { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // A silo's services (not started): its serializers are configured exactly as the engine's are.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.UseLocalhostClustering().AddQuotaGrains());
        _host = builder.Build();
        _serializer = _host.Services.GetRequiredService<Serializer<SpaceState>>();
        _copier = _host.Services.GetRequiredService<DeepCopier<SpaceState>>();
        _storageSerializer = _host.Services.GetRequiredService<IGrainStorageSerializer>();
        // As SpaceLog.WriteSnapshotAsync builds it: a copy of the state, with the pool's recent window attached (a live
        // pool keeps its window outside the state).
        var pool = WarmPool.Create(Operations);
        _state = pool.State;
        _snapshot = _copier.Copy(_state);
        (_snapshot.Operations, _snapshot.ClosedHolds) = pool.RecentWindow(QuotaRules.Default.Spaces.MaxSnapshotOperations);
        _bytes = _serializer.SerializeToArray(_snapshot);
        _json = _storageSerializer.Serialize(_snapshot);
        Console.WriteLine($"// Snapshot of a Space after {Operations} flows ({_snapshot.Operations.Count:N0} operation ids, {_snapshot.ClosedHolds.Count:N0} closed holds): Orleans binary {_bytes.Length:N0} B, default grain storage serializer {_json.ToMemory().Length:N0} B");
    }

    [GlobalCleanup]
    public void Cleanup() => _host.Dispose();

    [Benchmark(Baseline = true)]
    public int Serialize()
    {
        _buffer.ResetWrittenCount();
        _serializer.Serialize(_snapshot, _buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public long Deserialize() => _serializer.Deserialize(_bytes)!.Sequence;

    /// <summary>What <c>SpaceLog</c> does before each snapshot (<c>_copier.Copy(_durable.State)</c>; the window is attached
    /// after the copy).</summary>
    [Benchmark]
    public long DeepCopy() => _copier.Copy(_state).Sequence;

    /// <summary>The silo's default <see cref="IGrainStorageSerializer"/>: what a memory-storage snapshot costs.</summary>
    [Benchmark]
    public int StorageSerializer_Serialize() => _storageSerializer.Serialize(_snapshot).ToMemory().Length;

    [Benchmark]
    public long StorageSerializer_Deserialize() => _storageSerializer.Deserialize<SpaceState>(_json)!.Sequence;
}
