using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Options;
using QuotaGrains.Grains.Spaces;

namespace QuotaGrains.Simulator;

/// <summary>One incarnation of a simulated silo: its scheduler, its journal stream (the real
/// <see cref="SiloJournalWriter"/>), its recovery reader (the real <see cref="JournalReader"/>), the services every
/// <see cref="SpaceLog"/> of it shares, and the Spaces active on it. A crash kills the scheduler: nothing of it runs again.</summary>
internal sealed class SimSilo
{
    private int _activations;

    public SimSilo(Simulation sim, int index, int incarnation)
    {
        Index = index;
        Incarnation = incarnation;
        Scheduler = new SimulationScheduler(sim.Random, sim.Thread);
        var runtime = new JournalRuntime(sim.Clock, Scheduler);
        var options = Options.Create(sim.JournalOptions);
        Stream = $"svc/silo{index}-{incarnation}";
        Address = SiloAddress.New(IPAddress.Loopback, 20_000 + index, incarnation);
        Writer = new SiloJournalWriter(sim.JournalStore, Stream, options, sim.Instruments, NullLogger<SiloJournalWriter>.Instance, sim.Codec, runtime)
        {
            SealsAfterFailure = !sim.NoSeal,
        };
        Reader = new JournalReader(
            sim.JournalStore, options, sim.Instruments, NullLogger<JournalReader>.Instance, runtime,
            sim.NoFencing ? null : new DelegateStreamFencing(sim.JournalStore, sim.IsDead),
            sim.ShareDeadStreamReads ? new DeadStreamShare(new SimPeers(sim, this), options, NullLogger<DeadStreamShare>.Instance, runtime) : null);
        Services = new SpaceLogServices(
            new AckRecorder(Writer, sim), Reader, sim.Codec, sim.LedgerStore, new SnapshotWriteLimiter(options), sim.Rules, options,
            sim.Clock, sim.Copier, sim.Instruments, NullLogger<SpaceLog>.Instance, runtime)
        {
            // Deterministic, unlike the engine's random ids: the run is a function of the seed.
            NewLedgerWriter = () => $"silo{index}-{incarnation}-{++_activations}",
        };
        Writer.Start();
    }

    public int Index { get; }

    public int Incarnation { get; }

    public string Stream { get; }

    /// <summary>Its address among the silos that split a dead stream's read (<see cref="DeadStreamShare"/>).</summary>
    public SiloAddress Address { get; }

    /// <summary>Declared dead while it still runs (paused, then resumed): it finishes what had reached it, but starts no
    /// activation (registering one in the grain directory needs the cluster, which counts it dead).</summary>
    public bool Stale { get; set; }

    public SimulationScheduler Scheduler { get; }

    public SiloJournalWriter Writer { get; }

    public JournalReader Reader { get; }

    public SpaceLogServices Services { get; }

    public Dictionary<string, SpaceHost> Hosts { get; } = new(StringComparer.Ordinal);

    public override string ToString() => $"silo{Index}.{Incarnation}";

    /// <summary>The other live silos, as the grain service reaches them: an ask is handled on the peer's own scheduler, so
    /// a peer that crashes never answers (the asker's timeout, on the simulated clock, then reads the range itself).</summary>
    private sealed class SimPeers(Simulation sim, SimSilo self) : IJournalPeers
    {
        public SiloAddress Self => self.Address;

        public IReadOnlyList<SiloAddress> Readers() => sim.LiveSilos.Select(s => s.Address).Order().ToList();

        public Task<byte[]> ReadAsync(SiloAddress peer, string segment, long offset, int length)
        {
            sim.Counters.Add("peer.asks");
            var target = sim.LiveSilos.FirstOrDefault(s => s.Address.Equals(peer));
            if (target is null)
            {
                return Task.FromException<byte[]>(new InvalidOperationException($"silo {peer} is not in the cluster"));
            }

            var answer = target.Scheduler.Start(() => target.Reader.ServePeerAsync(segment, offset, length));
            return answer.ContinueWith(
                t =>
                {
                    sim.Counters.Add(t.IsCompletedSuccessfully ? "peer.answers" : "peer.failures");
                    return t;
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default).Unwrap();
        }
    }

    /// <summary>The journal as the Spaces of this silo see it; tells the oracle which events were acknowledged.</summary>
    private sealed class AckRecorder(SiloJournalWriter inner, Simulation sim) : IJournalWriter
    {
        public JournalPosition DurableTail => inner.DurableTail;

        public async Task<JournalPosition> AppendAsync(string spaceId, IReadOnlyList<SpaceEvent> events)
        {
            var position = await inner.AppendAsync(spaceId, events);
            sim.Acknowledged(spaceId, events);
            return position;
        }

        public void ReleaseBefore(string spaceId, JournalPosition position) => inner.ReleaseBefore(spaceId, position);
    }
}

/// <summary>
/// What the grain runtime does around one Space's <see cref="SpaceLog"/>, as <c>SpaceGrain</c> uses it: activation
/// (recovery) before the first request, requests decided on the live pool and answered once durable, a wake-up timer,
/// deactivation once idle after a failure (the next request activates afresh from the stores), and idle collection.
/// </summary>
internal sealed class SpaceHost(Simulation sim, SimSilo silo, string spaceId)
{
    private SpaceLog? _log;
    private Task? _activation;
    private Task? _deactivation;
    private ITimer? _wake;
    private bool _failed;
    private int _busy;

    public string SpaceId { get; } = spaceId;

    public SimSilo Silo { get; } = silo;

    /// <summary>The log once active and not failed (for the checks), else null.</summary>
    public SpaceLog? Active => _log is not null && !_failed && _deactivation is null && _activation is { IsCompletedSuccessfully: true } ? _log : null;

    public bool Idle => _busy == 0;

    /// <summary>The snapshot handle of the current activation (what it read when it started).</summary>
    public ISpaceSnapshots? Snapshots { get; private set; }

    /// <summary>Moved to another silo: it activates no more (a request that still reaches it fails, outcome unknown,
    /// and its retry goes to the new place). The Space is placed anew once this one's deactivation has finished.</summary>
    public bool Retired { get; private set; }

    public async Task<(TResult Result, long? Sequence, bool Durable)> CallAsync<TResult>(Func<SpacePool, DateTimeOffset, Outcome<TResult>> decide, string operationId)
        where TResult : OperationResult
    {
        _busy++;
        try
        {
            var log = await ActiveAsync();
            var outcome = log.Decide(p => decide(p, sim.Clock.GetUtcNow()));
            await log.DurableAsync(outcome);
            var sequence = outcome.Events.OfType<RequestEvent>().FirstOrDefault(e => e.OperationId == operationId)?.Sequence;
            return (outcome.Result, sequence, sequence is not null);
        }
        finally
        {
            Done();
        }
    }

    public async Task<T> ReadAsync<T>(Func<SpaceLog, T> read)
    {
        _busy++;
        try
        {
            return read(await ActiveAsync());
        }
        finally
        {
            Done();
        }
    }

    /// <summary>Idle collection: the activation closes (a final snapshot) and the next request activates afresh; with
    /// <paramref name="moved"/>, the next activation is on another silo, once this deactivation has finished.</summary>
    public Task? Collect(bool moved)
    {
        if (_busy > 0 || _log is null || _deactivation is not null || _activation is not { IsCompleted: true })
        {
            return null;
        }

        // Called by the simulation's driver: the deactivation runs on the silo's scheduler like everything else.
        Retired = moved;
        var log = _log;
        var deactivation = _deactivation = Silo.Scheduler.Start(() => DeactivateAsync(log));
        return deactivation;
    }

    private async Task<SpaceLog> ActiveAsync()
    {
        while (true)
        {
            if (_deactivation is { } deactivation)
            {
                await deactivation;
                continue;
            }

            if (Retired)
            {
                throw new QuotaUnavailableException($"{SpaceId} moved from {Silo}; retry.");
            }

            if (_log is null)
            {
                if (Silo.Stale)
                {
                    throw new QuotaUnavailableException($"{Silo} was declared dead; retry.");
                }

                Snapshots = sim.SnapshotStore.Open(SpaceId);
                var log = _log = new SpaceLog(SpaceId, Snapshots, Silo.Services, WakeAt, () => _failed = true);
                _failed = false;
                _activation = ActivateAsync(log);
            }

            var activating = _log;
            try
            {
                await _activation!;
            }
            catch (Exception e)
            {
                if (_log == activating)
                {
                    // A failed activation is discarded; the next request tries again.
                    _log = null;
                    _activation = null;
                }

                throw e as QuotaUnavailableException ?? new QuotaUnavailableException($"Activation of {SpaceId} failed: {e.GetType().Name}", e);
            }

            if (_log != activating || _deactivation is not null)
            {
                continue;
            }

            return _log!;
        }
    }

    private async Task ActivateAsync(SpaceLog log)
    {
        sim.Counters.Add("activations");
        try
        {
            await log.RecoverAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not QuotaUnavailableException and not CheckFailedException)
        {
            // Storage failures reach a recovery as "outcome unknown"; anything else is a bug.
            sim.Violate($"recovery of {SpaceId} on {Silo} failed with {e.GetType().Name}: {e.Message}");
        }

        sim.Recovered(this, log);
    }

    private void Done()
    {
        _busy--;
        if (_busy == 0 && _failed && _log is not null && _deactivation is null)
        {
            _deactivation = DeactivateAsync(_log);
        }
    }

    private async Task DeactivateAsync(SpaceLog log)
    {
        // Never completes before the caller has recorded it (the finally below clears it).
        await Task.Yield();
        _wake?.Dispose();
        _wake = null;
        try
        {
            if (_activation is { IsCompletedSuccessfully: true })
            {
                sim.Counters.Add(_failed ? "deactivations.failed" : "deactivations.idle");
                await log.CloseAsync(nowhereToGo: false, shuttingDown: false, CancellationToken.None);
            }
        }
        finally
        {
            _log = null;
            _activation = null;
            _failed = false;
            _deactivation = null;
        }
    }

    private void WakeAt(DateTimeOffset instant)
    {
        _wake?.Dispose();
        var log = _log;
        var due = instant - sim.Clock.GetUtcNow();
        _wake = sim.Clock.CreateTimer(_ => Silo.Scheduler.Start(() => WakeUpAsync(log!)), null, due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    private async Task WakeUpAsync(SpaceLog log)
    {
        if (log == _log && _activation is { IsCompleted: false } activation)
        {
            // Orleans delivers a timer tick as a message, which waits while the grain activates: a wake-up that a
            // recovery's own append scheduled runs after the recovery, never inside it (seed 1076).
            await Task.WhenAny(activation);
            if (!activation.IsCompletedSuccessfully)
            {
                return;
            }
        }

        if (log != _log || _deactivation is not null)
        {
            return;
        }

        _busy++;
        try
        {
            sim.Counters.Add("wake-ups");
            await log.WakeUpAsync();
        }
        finally
        {
            Done();
        }
    }
}
