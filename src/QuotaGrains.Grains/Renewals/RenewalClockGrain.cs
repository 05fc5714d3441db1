using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Storage;
using QuotaGrains.Domain.Renewal;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Durability;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Renewals;

/// <summary>The clock's durable progress and its directory of index grains that hold Spaces.</summary>
[GenerateSerializer, Alias("QuotaGrains.RenewalClockState")]
internal sealed class RenewalClockState
{
    /// <summary>Every minute before this one was woken completely; <c>null</c> before the first activation.</summary>
    [Id(0)] public DateTimeOffset? DoneThrough { get; set; }

    /// <summary>One bit per index grain (slot × <see cref="Shards"/> + shard): set once it holds a Space.</summary>
    [Id(1)] public byte[] Directory { get; set; } = [];

    [Id(2)] public int Shards { get; set; }
}

/// <summary>
/// The renewal clock. An Orleans reminder ticks it every <see cref="RenewalOptions.ClockPeriod"/>; each tick (and its
/// activation) dispatches, in order, every minute that starts before the next tick plus a minute of margin, to the
/// index grains of the slots due in that minute that hold Spaces. Index grains wake their Spaces at their own seconds;
/// a minute is done when all of them answered, and the clock persists how far it is done. Minutes missed while the
/// cluster was down (or while a tick was late or lost) are dispatched on the next activation or tick, a bounded number
/// at once; a minute that failed is dispatched again at the next tick. A Space renews once per instant whoever wakes
/// it, so a minute dispatched twice (a clock reactivated before saving its progress) changes nothing.
/// </summary>
[Reentrant]
internal sealed class RenewalClockGrain : Grain, IRenewalClockGrain, IRemindable
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private readonly IPersistentState<RenewalClockState> _state;
    private readonly RenewalOptions _options;
    private readonly TimeProvider _time;
    private readonly RenewalInstruments _instruments;
    private readonly ILogger<RenewalClockGrain> _logger;
    private readonly SortedSet<DateTimeOffset> _inFlight = [];
    private readonly SortedSet<DateTimeOffset> _failed = [];
    private readonly WriteCoalescer _saves;

    private byte[] _directory = [];
    private int _directoryVersion;
    private int _durableDirectoryVersion;
    private DateTimeOffset _next;
    private DateTimeOffset? _savedDoneThrough;
    private bool _reminderRegistered;
    private long _ticks;

    public RenewalClockGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storage,
        IOptions<RenewalOptions> options,
        TimeProvider time,
        RenewalInstruments instruments,
        ILogger<RenewalClockGrain> logger)
    {
        _state = stateFactory.Create<RenewalClockState>(grainContext, "renewal-clock", storage.Value.ProviderName);
        _options = options.Value;
        _time = time;
        _instruments = instruments;
        _logger = logger;
        // One write in flight; a save asked for meanwhile is the next write (callers share it).
        _saves = new WriteCoalescer(WriteStateAsync);
    }

    private int Shards => _options.Shards;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var state = _state.State;
        var size = ((RenewalSlot.Count * Shards) + 7) / 8;
        if (state.Directory.Length == size && state.Shards == Shards)
        {
            _directory = state.Directory;
        }
        else
        {
            _directory = new byte[size];
            if (state.Directory.Any(b => b != 0))
            {
                // Index grains were registered under another shard count: wake every index grain rather than miss one.
                RenewalLog.ShardsChanged(_logger, state.Shards, Shards);
                Array.Fill(_directory, (byte)0xFF);
                _directoryVersion++;
            }
        }

        _savedDoneThrough = state.DoneThrough;
        _next = state.DoneThrough ?? RenewalSlot.MinuteOf(_time.GetUtcNow());
        var behind = (RenewalSlot.MinuteOf(_time.GetUtcNow()) - _next).Ticks / Minute.Ticks;
        if (behind > 1)
        {
            RenewalLog.CatchingUp(_logger, behind, _next);
        }

        await EnsureReminderAsync();
        Pump(retryFailed: false);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        _ticks++;
        if (!_reminderRegistered)
        {
            _ = EnsureReminderAsync();
        }

        Pump(retryFailed: true);
        return Task.CompletedTask;
    }

    public Task StartAsync()
    {
        Pump(retryFailed: false);
        return _reminderRegistered ? Task.CompletedTask : EnsureReminderAsync();
    }

    public async Task MarkAsync(int slot, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(slot, RenewalSlot.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, Shards);
        var bit = (slot * Shards) + shard;
        if ((_directory[bit / 8] & (1 << (bit % 8))) == 0)
        {
            _directory[bit / 8] |= (byte)(1 << (bit % 8));
            _directoryVersion++;
        }

        // Acknowledged only once durable (with every bit set before it).
        var target = _directoryVersion;
        while (_durableDirectoryVersion < target)
        {
            await _saves.WriteAsync();
        }
    }

    public Task<RenewalClockStatus> GetStatusAsync()
    {
        var grains = 0;
        foreach (var b in _directory)
        {
            grains += System.Numerics.BitOperations.PopCount(b);
        }

        return Task.FromResult(new RenewalClockStatus(DoneThrough(), _next, _inFlight.Count, _failed.Count, _ticks, _reminderRegistered, grains));
    }

    private DateTimeOffset DoneThrough()
    {
        var done = _next;
        if (_inFlight.Count > 0 && _inFlight.Min < done)
        {
            done = _inFlight.Min;
        }

        if (_failed.Count > 0 && _failed.Min < done)
        {
            done = _failed.Min;
        }

        return done;
    }

    /// <summary>Dispatches what is due: failed minutes again (on ticks), then minutes in order up to the horizon.</summary>
    private void Pump(bool retryFailed)
    {
        if (!_options.Enabled)
        {
            return;
        }

        if (retryFailed)
        {
            while (_failed.Count > 0 && _inFlight.Count < _options.MaxMinutesInFlight)
            {
                var minute = _failed.Min;
                _failed.Remove(minute);
                Dispatch(minute);
            }
        }

        var now = _time.GetUtcNow();
        var horizon = RenewalSlot.MinuteOf(now) + _options.Lookahead;
        while (_next < horizon && _inFlight.Count < _options.MaxMinutesInFlight && _failed.Count < _options.MaxMinutesInFlight)
        {
            Dispatch(_next);
            _next += Minute;
        }

        if (DoneThrough() != _savedDoneThrough)
        {
            _ = SaveQuietlyAsync();
        }
    }

    private void Dispatch(DateTimeOffset minute)
    {
        var keys = new List<string>();
        foreach (var slot in RenewalSlot.DueIn(minute))
        {
            for (var shard = 0; shard < Shards; shard++)
            {
                var bit = (slot.Index * Shards) + shard;
                if ((_directory[bit / 8] & (1 << (bit % 8))) != 0)
                {
                    keys.Add(RenewalIndex.KeyOf(slot, shard));
                }
            }
        }

        if (keys.Count == 0)
        {
            return;
        }

        _inFlight.Add(minute);
        _instruments.Minutes.Add(1, new KeyValuePair<string, object?>("late", minute + Minute <= _time.GetUtcNow()));
        _ = WakeMinuteAsync(minute, keys);
    }

    private async Task WakeMinuteAsync(DateTimeOffset minute, List<string> keys)
    {
        try
        {
            await Task.WhenAll(keys.Select(k => GrainFactory.GetGrain<IRenewalSlotGrain>(k).WakeAsync(minute)));
        }
        catch (Exception e)
        {
            RenewalLog.MinuteFailed(_logger, e, minute);
            _failed.Add(minute);
        }
        finally
        {
            _inFlight.Remove(minute);
        }

        Pump(retryFailed: false);
    }

    private async Task EnsureReminderAsync()
    {
        if (!_options.Enabled)
        {
            return;
        }

        try
        {
            await this.RegisterOrUpdateReminder(RenewalIndex.ClockReminderName, _options.ClockPeriod, _options.ClockPeriod);
            _reminderRegistered = true;
        }
        catch (Exception e)
        {
            RenewalLog.ReminderFailed(_logger, e);
        }
    }

    private async Task SaveQuietlyAsync()
    {
        try
        {
            await _saves.WriteAsync();
        }
        catch (Exception e)
        {
            RenewalLog.SaveFailed(_logger, e);
        }
    }

    private async Task WriteStateAsync()
    {
        var version = _directoryVersion;
        var doneThrough = DoneThrough();
        _state.State.DoneThrough = doneThrough;
        _state.State.Shards = Shards;
        _state.State.Directory = (byte[])_directory.Clone();
        try
        {
            await _state.WriteStateAsync();
        }
        catch (InconsistentStateException)
        {
            DeactivateOnIdle();
            throw;
        }

        _savedDoneThrough = doneThrough;
        _durableDirectoryVersion = Math.Max(_durableDirectoryVersion, version);
    }
}
