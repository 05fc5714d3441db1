using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Serialization;
using Orleans.Storage;
using QuotaGrains.Domain.Options;
using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Pricing;
using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Journal;
using QuotaGrains.Grains.Ledger;
using QuotaGrains.Grains.Options;
using QuotaGrains.Grains.Spaces;

namespace QuotaGrains.Tests.Storage;

/// <summary>Issue 16 at the level of a Space's log, without a cluster: Space X is active on silo A; A is declared dead
/// and X recovers on silo B, whose reader fences A's stream first; then A resumes and decides a reserve on its stale
/// copy of X. A must not acknowledge it, and B holds every reserve A acknowledged before.</summary>
public sealed class TwoOwnersTests : IAsyncLifetime
{
    private const string SpaceId = "space-x";
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddMetrics()
        .AddSerializer(b => b.AddAssembly(typeof(SpaceEvent).Assembly).AddAssembly(typeof(SpaceLog).Assembly).AddAssembly(typeof(CreateSpaceRequest).Assembly))
        .BuildServiceProvider();

    private readonly LateAppendStore _journal = new(new MemoryJournalStore());
    private readonly MemoryLedgerStore _ledger = new();
    private readonly List<IAsyncDisposable> _writers = [];
    private QuotaInstruments _instruments = null!;
    private SharedSnapshots _snapshots = null!;

    // SpaceLog is used from one thread at a time, as a grain uses it: the test runs on an exclusive scheduler.
    private readonly TaskScheduler _turns = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    public Task InitializeAsync()
    {
        _instruments = new QuotaInstruments(_services.GetRequiredService<IMeterFactory>());
        _snapshots = new SharedSnapshots(_services.GetRequiredService<Serializer>());
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var writer in _writers)
        {
            await writer.DisposeAsync();
        }

        _instruments.Dispose();
        await _services.DisposeAsync();
    }

    [Fact]
    public Task The_stale_owner_acknowledges_nothing_after_the_new_owner_recovered_and_the_new_owner_has_every_acknowledged_reserve() => OnTurnsAsync(async () =>
    {
        var siloA = NewSilo("svc/silo-a", isDead: _ => false);
        var logA = new SpaceLog(SpaceId, _snapshots.Open(), siloA, _ => { }, () => { });
        await logA.RecoverAsync(CancellationToken.None);
        await DecideAsync(logA, (p, now) => p.Create(new CreateSpaceRequest("create", "owner", PlanTier.Pro), now));
        await DecideAsync(logA, (p, now) => p.Reserve("owner", new ReserveRequest("r1", new GenerationSpec("recolor")), now));
        await DecideAsync(logA, (p, now) => p.Reserve("owner", new ReserveRequest("r2", new GenerationSpec("recolor")), now));

        // A is declared dead: X activates on B, whose membership view says so; B's reader fences A's stream first.
        var siloB = NewSilo("svc/silo-b", isDead: s => s == "svc/silo-a");
        var logB = new SpaceLog(SpaceId, _snapshots.Open(), siloB, _ => { }, () => { });
        await logB.RecoverAsync(CancellationToken.None);
        await DecideAsync(logB, (p, now) => p.Reserve("owner", new ReserveRequest("r3", new GenerationSpec("recolor")), now));

        // A resumes and decides a reserve on its stale copy: it must not be acknowledged.
        var stale = logA.Decide(p => p.Reserve("owner", new ReserveRequest("r4", new GenerationSpec("recolor")), siloA.Time.GetUtcNow()));
        Assert.True(stale.Result.Succeeded);
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => logA.DurableAsync(stale));

        // B has every reserve that was acknowledged, and only those: three holds of 4 credits.
        var pool = logB.ReadView(out _);
        Assert.Equal(["r1", "r2", "r3"], pool.State.Holds.Keys.Order());
        Assert.Equal(12, pool.State.Held);
    });

    /// <summary>Two activations hold different events under one sequence number: A recovered before silo C appended a
    /// reserve, B after (in the engine: a block whose outcome was unknown, which landed after A read the journal). A
    /// writes its snapshot first and its own #2 is acknowledged; B then writes its pages and meets the ETag conflict.
    /// Nothing of B's may be read from the ledger: not by A, not after A's next snapshot, not by a new activation.</summary>
    [Fact]
    public Task The_pages_of_an_activation_that_lost_the_snapshot_are_never_read() => OnTurnsAsync(async () =>
    {
        var siloC = NewSilo("svc/silo-c", isDead: _ => false);
        var logC = new SpaceLog(SpaceId, _snapshots.Open(), siloC, _ => { }, () => { });
        await logC.RecoverAsync(CancellationToken.None);
        await DecideAsync(logC, (p, now) => p.Create(new CreateSpaceRequest("create", "owner", PlanTier.Pro), now));
        await logC.SnapshotAsync();

        var logA = new SpaceLog(SpaceId, _snapshots.Open(), NewSilo("svc/silo-a", isDead: _ => false), _ => { }, () => { });
        await logA.RecoverAsync(CancellationToken.None);
        await DecideAsync(logC, (p, now) => p.Reserve("owner", new ReserveRequest("theirs", new GenerationSpec("recolor")), now));
        var logB = new SpaceLog(SpaceId, _snapshots.Open(), NewSilo("svc/silo-b", isDead: _ => false), _ => { }, () => { });
        await logB.RecoverAsync(CancellationToken.None);
        Assert.Equal(2, logB.DurableSequence);

        await DecideAsync(logA, (p, now) => p.Reserve("owner", new ReserveRequest("ours", new GenerationSpec("ai-shadows")), now));
        var lost = await Assert.ThrowsAsync<QuotaUnavailableException>(logB.SnapshotAsync);
        Assert.Contains("ETag conflict", lost.Message, StringComparison.Ordinal);

        string[] expected = ["created create", "reserved ours"];
        Assert.Equal(expected, await LedgerOfAsync(logA));
        await logA.SnapshotAsync();
        Assert.Equal(expected, await LedgerOfAsync(logA));
        var logD = new SpaceLog(SpaceId, _snapshots.Open(), NewSilo("svc/silo-d", isDead: _ => false), _ => { }, () => { });
        await logD.RecoverAsync(CancellationToken.None);
        Assert.Equal(expected, await LedgerOfAsync(logD));
    });

    /// <summary>Seed 3570: X's append of a reserve on silo A reached the storage but was given up on (a timeout), and X
    /// activated again on A and recovered; then the storage carried the append out. A was declared dead: X recovered on B,
    /// whose reader fenced A's stream, found the reserve, and showed it to a reader. Then A's activation, whose recovery had
    /// not seen it, wrote its snapshot first (the ETag still matched), and the next recovery, from that snapshot, no longer
    /// found the reserve: usage went backwards. Now A's writer seals the segment before it answers the failure, so the
    /// append given up on cannot land afterwards and every recovery finds the same events.</summary>
    [Fact]
    public Task A_read_never_shows_what_a_stale_owners_snapshot_then_hides() => OnTurnsAsync(async () =>
    {
        var siloA = NewSilo("svc/silo-a", isDead: _ => false, appendTimeout: TimeSpan.FromMilliseconds(200));
        var logW = new SpaceLog(SpaceId, _snapshots.Open(), siloA, _ => { }, () => { });
        await logW.RecoverAsync(CancellationToken.None);
        await DecideAsync(logW, (p, now) => p.Create(new CreateSpaceRequest("create", "owner", PlanTier.Pro), now));
        await DecideAsync(logW, (p, now) => p.Reserve("owner", new ReserveRequest("r1", new GenerationSpec("recolor")), now));
        _journal.HoldNext = true;
        var givenUp = logW.Decide(p => p.Reserve("owner", new ReserveRequest("r2", new GenerationSpec("recolor")), siloA.Time.GetUtcNow()));
        await Assert.ThrowsAsync<QuotaUnavailableException>(() => logW.DurableAsync(givenUp));

        // X activates again on A, from the same snapshot: r1. Then the storage carries out the append, if it still can.
        var logS = new SpaceLog(SpaceId, _snapshots.Open(), siloA, _ => { }, () => { });
        await logS.RecoverAsync(CancellationToken.None);
        Assert.Equal(["r1"], logS.ReadView(out _).State.Holds.Keys);
        var landed = true;
        try
        {
            await _journal.LandHeldAsync();
        }
        catch (JournalFencedException)
        {
            landed = false;
        }

        // A is declared dead while it still runs: X activates on B, which fences A's stream and reads it, and is read.
        var siloB = NewSilo("svc/silo-b", isDead: s => s == "svc/silo-a");
        var logN = new SpaceLog(SpaceId, _snapshots.Open(), siloB, _ => { }, () => { });
        await logN.RecoverAsync(CancellationToken.None);
        string[] shown = [.. logN.ReadView(out _).State.Holds.Keys.Order()];

        // A's activation writes its snapshot first; B's meets the ETag conflict. The next recovery shows what B showed.
        await logS.SnapshotAsync();
        await Assert.ThrowsAsync<QuotaUnavailableException>(logN.SnapshotAsync);
        var logNext = new SpaceLog(SpaceId, _snapshots.Open(), siloB, _ => { }, () => { });
        await logNext.RecoverAsync(CancellationToken.None);
        Assert.Equal(shown, logNext.ReadView(out _).State.Holds.Keys.Order());
        Assert.False(landed);
        Assert.Equal(["r1"], shown);
    });

    private static async Task<string[]> LedgerOfAsync(SpaceLog log) =>
        [.. (await log.LedgerAsync(new LedgerQuery(PageSize: 100))).Entries.Select(e => $"{e.Kind} {e.OperationId}")];

    private static async Task DecideAsync<TResult>(SpaceLog log, Func<SpacePool, DateTimeOffset, Outcome<TResult>> decide)
        where TResult : OperationResult
    {
        var outcome = log.Decide(p => decide(p, DateTimeOffset.UtcNow));
        Assert.True(outcome.Result.Succeeded, outcome.Result.ToString());
        await log.DurableAsync(outcome);
    }

    private Task OnTurnsAsync(Func<Task> test) =>
        Task.Factory.StartNew(test, CancellationToken.None, TaskCreationOptions.DenyChildAttach, _turns).Unwrap().WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>One silo's journal writer (its own stream), its reader (fencing what <paramref name="isDead"/> calls dead)
    /// and the services its Spaces share.</summary>
    private SpaceLogServices NewSilo(string stream, Func<string, bool> isDead, TimeSpan? appendTimeout = null)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new JournalOptions { AppendTimeout = appendTimeout ?? new JournalOptions().AppendTimeout });
        var codec = new SpaceRecordCodec(_services.GetRequiredService<Serializer>());
        var writer = new SiloJournalWriter(_journal, stream, options, _instruments, NullLogger<SiloJournalWriter>.Instance, codec);
        writer.Start();
        _writers.Add(writer);
        var reader = new JournalReader(_journal, options, _instruments, NullLogger<JournalReader>.Instance, fencing: new DelegateStreamFencing(_journal, isDead));
        var rules = new QuotaRules(new PriceBook(PriceBookOptions.CreateDefault()), new PlanCatalog(PlanCatalogOptions.CreateDefault()), new SpaceRulesOptions());
        return new SpaceLogServices(
            writer, reader, codec, _ledger, new SnapshotWriteLimiter(options), rules, options, TimeProvider.System,
            _services.GetRequiredService<DeepCopier<SpaceState>>(), _instruments, NullLogger<SpaceLog>.Instance,
            new JournalRuntime(TimeProvider.System, _turns));
    }

    /// <summary>The Space's snapshot row, as Orleans grain storage keeps it: a write from an activation that read an
    /// older ETag is refused.</summary>
    private sealed class SharedSnapshots(Serializer serializer)
    {
        private readonly Serializer _serializer = serializer;
        private byte[]? _data;
        private int _etag;

        public ISpaceSnapshots Open() => new Handle(this);

        private sealed class Handle : ISpaceSnapshots
        {
            private readonly SharedSnapshots _row;
            private int _etag;

            public Handle(SharedSnapshots row)
            {
                _row = row;
                lock (row)
                {
                    Current = row._data is { } data ? row._serializer.Deserialize<SpaceSnapshot>(data) ?? new SpaceSnapshot() : new SpaceSnapshot();
                    _etag = row._etag;
                }
            }

            public SpaceSnapshot Current { get; private set; }

            public Task WriteAsync(SpaceSnapshot snapshot)
            {
                Current = snapshot;
                lock (_row)
                {
                    if (_row._etag != _etag)
                    {
                        throw new InconsistentStateException("ETag conflict: another activation wrote", _row._etag.ToString(System.Globalization.CultureInfo.InvariantCulture), _etag.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    }

                    _row._data = _row._serializer.SerializeToArray(snapshot);
                    _etag = ++_row._etag;
                }

                return Task.CompletedTask;
            }
        }
    }
}
