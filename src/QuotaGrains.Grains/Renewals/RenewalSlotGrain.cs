using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Durability;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Renewals;

/// <summary>The Spaces of one index grain: Space id → the second of the minute it renews at.</summary>
[GenerateSerializer, Alias("QuotaGrains.RenewalSlotState")]
internal sealed class RenewalSlotState
{
    [Id(0)] public Dictionary<string, byte> Spaces { get; set; } = [];
}

/// <summary>
/// One shard of one renewal slot's index. Written when a Space is created (or moves), read when the clock wakes it:
/// then every Space is woken at its own second of the minute with a grain timer per second, and the wake returns when
/// each renewal is durable, so that the clock counts a minute done only when it is. A Space that answers with a
/// schedule of another slot is moved there; one that does not exist is dropped; one whose clock has not reached the
/// instant yet is asked again. Waking is idempotent (a Space renews once per instant whoever asks), so duplicate,
/// late and repeated wakes are harmless.
/// </summary>
[Reentrant]
internal sealed class RenewalSlotGrain : Grain, IRenewalSlotGrain
{
    private readonly IPersistentState<RenewalSlotState> _state;
    private readonly RenewalIndex _index;
    private readonly RenewalOptions _options;
    private readonly TimeProvider _time;
    private readonly RenewalInstruments _instruments;
    private readonly ILogger<RenewalSlotGrain> _logger;
    private readonly Dictionary<DateTimeOffset, Task<RenewalWakeReport>> _runs = [];
    private readonly SemaphoreSlim _wakeSlots;
    private readonly WriteCoalescer _writes;

    private RenewalSlot _slot;
    private int _shard;
    private bool _marked;
    private Task? _marking;
    private bool _dirty;

    public RenewalSlotGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storage,
        IOptions<RenewalOptions> options,
        RenewalIndex index,
        TimeProvider time,
        RenewalInstruments instruments,
        ILogger<RenewalSlotGrain> logger)
    {
        _state = stateFactory.Create<RenewalSlotState>(grainContext, "renewal-slot", storage.Value.ProviderName);
        _options = options.Value;
        _index = index;
        _time = time;
        _instruments = instruments;
        _logger = logger;
        _wakeSlots = new SemaphoreSlim(_options.MaxWakesInFlight, _options.MaxWakesInFlight);
        // One write in flight; changes made meanwhile ride in the next one (callers share it).
        _writes = new WriteCoalescer(WriteStateAsync);
    }

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!RenewalIndex.TryParseKey(Key, out _slot, out _shard))
        {
            throw new ArgumentException($"'{Key}' is not a renewal index key.");
        }

        return Task.CompletedTask;
    }

    public async Task RegisterAsync(string spaceId, int second, DateTimeOffset nextRenewal)
    {
        ArgumentException.ThrowIfNullOrEmpty(spaceId);
        ArgumentOutOfRangeException.ThrowIfNegative(second);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(second, 59);

        // The clock must know this grain holds Spaces before the registration is acknowledged.
        await EnsureMarkedAsync();
        var spaces = _state.State.Spaces;
        if (!spaces.TryGetValue(spaceId, out var known) || known != second || _dirty)
        {
            spaces[spaceId] = (byte)second;
            await _writes.WriteAsync();
        }
        else
        {
            await _writes.Latest;
        }

        // The clock dispatches minutes ahead of time: a renewal this close may be in a minute it already dispatched.
        if (nextRenewal - _time.GetUtcNow() <= _options.NearTerm)
        {
            _ = WakeOnceAsync(spaceId, nextRenewal);
        }
    }

    public async Task UnregisterAsync(string spaceId)
    {
        if (_state.State.Spaces.Remove(spaceId) || _dirty)
        {
            await _writes.WriteAsync();
        }
    }

    public Task<RenewalWakeReport> WakeAsync(DateTimeOffset minute)
    {
        minute = RenewalSlot.MinuteOf(minute);
        if (_runs.TryGetValue(minute, out var running))
        {
            return running;
        }

        var run = RunAsync(minute);
        if (!run.IsCompleted)
        {
            _runs[minute] = run;
            _ = run.ContinueWith(_ => _runs.Remove(minute), TaskScheduler.Current);
        }

        return run;
    }

    public Task<IReadOnlyDictionary<string, int>> GetSpacesAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, int>>(_state.State.Spaces.ToDictionary(e => e.Key, e => (int)e.Value, StringComparer.Ordinal));

    private async Task<RenewalWakeReport> RunAsync(DateTimeOffset minute)
    {
        var seconds = _state.State.Spaces
            .GroupBy(e => e.Value)
            .Select(g => WakeSecondAsync(minute.AddSeconds(g.Key), g.Select(e => e.Key).ToList()))
            .ToList();
        var reports = await Task.WhenAll(seconds);
        var failed = reports.Count(r => r is null);
        if (failed > 0)
        {
            throw new RenewalWakeException($"Index {Key}: {failed} second(s) of minute {minute:O} had Spaces that could not be woken.");
        }

        return reports.Aggregate(RenewalWakeReport.None, (sum, r) => sum.Add(r!));
    }

    /// <summary>The Spaces due at one instant: a grain timer for the instant, then each woken (a bounded number at
    /// once). <c>null</c> if any could not be woken.</summary>
    private async Task<RenewalWakeReport?> WakeSecondAsync(DateTimeOffset due, List<string> spaceIds)
    {
        if (_options.PrewarmLead > TimeSpan.Zero && due > _time.GetUtcNow() + TimeSpan.FromSeconds(1))
        {
            _ = PrewarmAsync(due - _options.PrewarmLead, spaceIds);
        }

        await AtAsync(due);
        var wakes = new List<Task<RenewalWakeReport?>>(spaceIds.Count);
        foreach (var spaceId in spaceIds)
        {
            await _wakeSlots.WaitAsync();
            wakes.Add(WakeBoundedAsync(spaceId, due));
        }

        var reports = await Task.WhenAll(wakes);
        return reports.Any(r => r is null) ? null : reports.Aggregate(RenewalWakeReport.None, (sum, r) => sum.Add(r!));
    }

    private async Task<RenewalWakeReport?> WakeBoundedAsync(string spaceId, DateTimeOffset due)
    {
        try
        {
            return await WakeSpaceAsync(spaceId, due);
        }
        finally
        {
            _wakeSlots.Release();
        }
    }

    /// <summary>Activates Spaces ahead of their renewal second (a call that finds nothing due yet), a bounded number
    /// at once; failures are left to the renewal itself.</summary>
    private async Task PrewarmAsync(DateTimeOffset at, List<string> spaceIds)
    {
        await AtAsync(at);
        var warming = new List<Task>(spaceIds.Count);
        foreach (var spaceId in spaceIds)
        {
            await _wakeSlots.WaitAsync();
            warming.Add(WarmAsync(spaceId));
        }

        await Task.WhenAll(warming);

        async Task WarmAsync(string spaceId)
        {
            try
            {
                await GrainFactory.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(spaceId).RenewDueAsync();
            }
            catch (Exception e)
            {
                // The renewal itself will try again, and report.
                RenewalLog.WakeFailed(_logger, e, spaceId, at, 0);
            }
            finally
            {
                _wakeSlots.Release();
            }
        }
    }

    /// <summary>Wakes one Space for its renewal at <paramref name="due"/>; <c>null</c> if it could not be.</summary>
    private async Task<RenewalWakeReport?> WakeSpaceAsync(string spaceId, DateTimeOffset due)
    {
        for (var attempt = 1; attempt <= _options.WakeAttempts; attempt++)
        {
            try
            {
                var status = await GrainFactory.GetGrain<QuotaGrains.Grains.ISpaceMaintenanceGrain>(spaceId).RenewDueAsync();
                if (status is null)
                {
                    // Registered, but no such Space (never created): nothing will ever renew.
                    await UnregisterAsync(spaceId);
                    _instruments.Wakes.Add(1, new KeyValuePair<string, object?>("outcome", "missing"));
                    return new RenewalWakeReport(1, 0, 0, 1);
                }

                var moved = await MoveIfElsewhereAsync(spaceId, status);
                if (status.NextRenewal <= due)
                {
                    // The Space's clock has not reached the instant yet (another silo's clock is behind ours).
                    await Task.Delay(attempt == 1 ? TimeSpan.FromMilliseconds(20) : _options.RetryDelay);
                    continue;
                }

                var renewed = status.CycleStart == due;
                if (renewed)
                {
                    _instruments.Lateness.Record(Math.Max(0, (_time.GetUtcNow() - due).TotalMilliseconds));
                }

                _instruments.Wakes.Add(1, new KeyValuePair<string, object?>("outcome", moved ? "moved" : renewed ? "renewed" : "current"));
                return new RenewalWakeReport(1, renewed ? 1 : 0, moved ? 1 : 0, 0);
            }
            catch (Exception e) when (attempt < _options.WakeAttempts)
            {
                RenewalLog.WakeFailed(_logger, e, spaceId, due, attempt);
                await Task.Delay(_options.RetryDelay);
            }
            catch (Exception e)
            {
                RenewalLog.WakeFailed(_logger, e, spaceId, due, attempt);
            }
        }

        _instruments.Wakes.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
        return null;
    }

    /// <summary>A Space whose schedule now falls in another slot (a cancellation to Free took effect at this renewal)
    /// is registered there first, then dropped here: it is never in no index.</summary>
    private async Task<bool> MoveIfElsewhereAsync(string spaceId, RenewalStatus status)
    {
        var key = _index.KeyOf(spaceId, status.Cadence, status.Anchor);
        if (key == Key)
        {
            return false;
        }

        await _index.RegisterAsync(spaceId, status);
        await UnregisterAsync(spaceId);
        RenewalLog.SpaceMoved(_logger, spaceId, Key, key);
        return true;
    }

    /// <summary>A registration close to its renewal: woken on a timer of its own, outside the clock's minutes.</summary>
    private async Task WakeOnceAsync(string spaceId, DateTimeOffset due)
    {
        await AtAsync(due);
        await _wakeSlots.WaitAsync();
        await WakeBoundedAsync(spaceId, due);
    }

    /// <summary>Completes at <paramref name="instant"/> by this grain's clock, on a grain timer (at once if past).</summary>
    private async Task AtAsync(DateTimeOffset instant)
    {
        // A timer may fire a hair early by the clock: wait again for the rest.
        while (_time.GetUtcNow() < instant)
        {
            var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var timer = this.RegisterGrainTimerAt(_time, instant, (_, _) =>
            {
                fired.TrySetResult();
                return Task.CompletedTask;
            });
            await fired.Task;
        }
    }

    private async Task EnsureMarkedAsync()
    {
        if (_marked)
        {
            return;
        }

        _marking ??= GrainFactory.GetGrain<IRenewalClockGrain>(RenewalIndex.ClockKey).MarkAsync(_slot.Index, _shard);
        try
        {
            await _marking;
            _marked = true;
        }
        finally
        {
            _marking = null;
        }
    }

    private async Task WriteStateAsync()
    {
        _dirty = false;
        try
        {
            await _state.WriteStateAsync();
        }
        catch (Exception e)
        {
            // Memory holds entries storage may not: the next registration writes again; an ETag conflict means
            // another activation, so this one reloads.
            _dirty = true;
            RenewalLog.IndexWriteFailed(_logger, e, Key);
            if (e is InconsistentStateException)
            {
                DeactivateOnIdle();
            }

            throw;
        }
    }
}

/// <summary>Some Spaces of a minute could not be woken; the clock retries the minute.</summary>
internal sealed class RenewalWakeException(string message) : Exception(message);
