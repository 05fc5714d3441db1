using System.Collections.Concurrent;
using System.Diagnostics;
using QuotaGrains.Client;

namespace QuotaGrains.Tests.Faults;

/// <summary>
/// Generation-server traffic through <see cref="IQuotaClient"/> on a <see cref="SiloCluster"/>, and its audit. Workers
/// reserve (1–3 items, each reserve with an operation id of its own), then commit or refund the hold, as a generation
/// server does when its generation succeeds or fails. Every acknowledged outcome is recorded, and so is every error the
/// caller saw (a <see cref="QuotaUnavailableException"/> after the client's own retries): its operation is retried with
/// the same id after the fault (<see cref="ResolveUnknownAsync"/>), to exactly one outcome, and a second retry replays
/// it. <see cref="AuditAsync"/> then checks each Space against what was acknowledged (DOMAIN.md invariants 1–3) and its
/// ledger against both.
/// </summary>
public sealed class QuotaTraffic(SiloCluster cluster, string prefix, int spaces = 24, int usersPerSpace = 4)
{
    /// <summary>Large enough that nothing is refused for credits: every refusal is a failure here.</summary>
    public const long Allowance = 1_000_000_000;

    private static readonly GenerationSpec Spec = new("recolor");
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<string, Hold> _reserved = new(StringComparer.Ordinal);      // by hold id
    private readonly ConcurrentDictionary<string, Settled> _settled = new(StringComparer.Ordinal);    // by hold id
    private readonly ConcurrentQueue<Surfaced> _surfaced = new();
    private readonly ConcurrentQueue<string> _wrong = new();
    private readonly ConcurrentQueue<Unknown> _unknown = new();
    private readonly List<Task> _workers = [];
    private CancellationTokenSource _stop = new();
    private int _acknowledged;

    /// <summary>The Spaces, each with its users (the first is its owner).</summary>
    public IReadOnlyList<(string Space, string[] Users)> Spaces { get; } = [.. Enumerable.Range(0, spaces)
        .Select(s => ($"{prefix}-s{s}", Enumerable.Range(0, usersPerSpace).Select(u => $"{prefix}-s{s}-u{u}").ToArray()))];

    /// <summary>Operations acknowledged to the workers so far (reserves, commits and refunds).</summary>
    public int Acknowledged => Volatile.Read(ref _acknowledged);

    /// <summary>The errors the callers saw, each an operation retried later.</summary>
    public IReadOnlyCollection<Surfaced> SurfacedErrors => _surfaced;

    /// <summary>Milliseconds since this traffic was made: the time base of <see cref="Surfaced.At"/>.</summary>
    public long Now => _clock.ElapsedMilliseconds;

    /// <summary>Creates the Spaces (Enterprise, <see cref="Allowance"/>) and their members.</summary>
    public async Task SetupAsync()
    {
        await Parallel.ForEachAsync(Spaces, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (space, _) =>
        {
            var created = await cluster.Quota.CreateSpaceAsync(space.Space,
                new CreateSpaceRequest($"{space.Space}-create", space.Users[0], PlanTier.Enterprise, CustomAllowance: Allowance));
            Assert.True(created.Succeeded, created.Rejection?.ToString());
            foreach (var user in space.Users.Skip(1))
            {
                var added = await cluster.Quota.AddMemberAsync(space.Space, new AddMemberRequest($"{user}-add", space.Users[0], user, SpaceRole.Member));
                Assert.True(added.Succeeded, added.Rejection?.ToString());
            }
        });
    }

    /// <summary>Starts <paramref name="workers"/> workers, each with one operation in flight at a time.</summary>
    public void Start(int workers)
    {
        _stop = new CancellationTokenSource();
        var stop = _stop.Token;
        _workers.AddRange(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkAsync(w, stop))));
    }

    /// <summary>Lets each worker finish its operation in flight, and stops them.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers).WaitAsync(Patience);
        _workers.Clear();
    }

    /// <summary>Waits until <paramref name="count"/> more operations were acknowledged than now.</summary>
    public async Task AcknowledgedMoreAsync(int count)
    {
        var target = Acknowledged + count;
        var deadline = DateTime.UtcNow + Patience;
        while (Acknowledged < target)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {Acknowledged} of {target} operations acknowledged; errors: {SurfacedErrors.Count}\n{cluster.Output}");
            await Task.Delay(20);
        }
    }

    /// <summary>Each operation whose error a caller saw, retried with its operation id: it has exactly one outcome, and a
    /// second retry replays it. Returns how many there were and how many had landed before (replayed on the first retry).</summary>
    public async Task<(int Retried, int Landed)> ResolveUnknownAsync()
    {
        var (retried, landed) = (0, 0);
        while (_unknown.TryDequeue(out var unknown))
        {
            retried++;
            if (unknown.Hold is null)
            {
                var once = await UntilAnsweredAsync(() => cluster.Quota.ReserveAsync(unknown.User, unknown.Space, Spec, unknown.Count, unknown.OperationId));
                var twice = await UntilAnsweredAsync(() => cluster.Quota.ReserveAsync(unknown.User, unknown.Space, Spec, unknown.Count, unknown.OperationId));
                Assert.True(once.Succeeded, $"{unknown}: {once.Rejection}");
                Assert.True(twice.Reservation.Replayed, $"{unknown}: the second retry was not a replay");
                Assert.Equal((once.HoldId, once.Credits), (twice.HoldId, twice.Credits));
                landed += once.Reservation.Replayed ? 1 : 0;
                Record(unknown.Space, unknown.User, once);
            }
            else
            {
                // The hold sends the same operation again (a settle that threw keeps its id): its first settle, "{hold}:c1"
                // or "{hold}:r1". The second retry goes to the user grain with that id, since the hold would number a new one.
                var hold = unknown.Hold;
                var once = await UntilAnsweredAsync(() => unknown.Commit ? hold.CommitAsync() : hold.RefundAsync());
                var request = new SettleRequest($"{hold.HoldId}:{(unknown.Commit ? 'c' : 'r')}1", hold.HoldId!);
                var user = cluster.Client.GetGrain<IUserGrain>(hold.UserId);
                var twice = await UntilAnsweredAsync(() => unknown.Commit ? user.CommitAsync(hold.SpaceId, request) : user.RefundAsync(hold.SpaceId, request));
                Assert.True(once.Succeeded, $"{unknown}: {once.Rejection}");
                Assert.True(twice.Replayed, $"{unknown}: the second retry was not a replay ({twice.Rejection})");
                Assert.Equal((once.CommittedCredits, once.RefundedCredits), (twice.CommittedCredits, twice.RefundedCredits));
                landed += once.Replayed ? 1 : 0;
                Record(hold, unknown.Commit, once);
            }
        }

        return (retried, landed);
    }

    /// <summary>
    /// Every Space equals what was acknowledged to the callers, and its ledger equals both:
    /// used = the sum of the acknowledged commits, held = the acknowledged holds still open, used + held ≤ allowance
    /// (invariants 1–2); every acknowledged reserve, commit and refund is in the ledger exactly once and nothing else is
    /// (invariant 3: nothing acknowledged is lost, nothing unacknowledged appears); the ledger's sequences are distinct.
    /// Call after <see cref="StopAsync"/> and <see cref="ResolveUnknownAsync"/>.
    /// </summary>
    public async Task<AuditReport> AuditAsync()
    {
        Assert.Empty(_wrong);
        Assert.Empty(_unknown);
        var entries = 0;
        foreach (var (space, _) in Spaces)
        {
            var reserved = _reserved.Values.Where(h => h.Space == space).ToDictionary(h => h.HoldId, StringComparer.Ordinal);
            var settled = _settled.Values.Where(s => reserved.ContainsKey(s.HoldId)).ToList();
            var open = reserved.Values.Where(h => !_settled.ContainsKey(h.HoldId)).ToList();
            var used = settled.Sum(s => s.Committed);

            var balance = await UntilAnsweredAsync(() => cluster.Quota.GetBalanceAsync(space));
            Assert.NotNull(balance);
            Assert.Equal((space, used, open.Sum(h => h.Credits), open.Count), (space, balance.Used, balance.Held, balance.OpenHolds));
            Assert.True(balance.Used + balance.Held <= balance.Allowance, $"{space}: used {balance.Used} + held {balance.Held} > {balance.Allowance}");

            var ledger = await LedgerAsync(space);
            entries += ledger.Count;
            Assert.Equal(ledger.Count, ledger.Select(e => e.Sequence).Distinct().Count());
            Assert.Equal(ledger.Select(e => e.Sequence).Order(), ledger.Select(e => e.Sequence));
            Assert.Equal(
                reserved.Values.Select(h => (h.HoldId, h.Credits)).Order(),
                ledger.Where(e => e.Kind == "reserved").Select(e => (e.HoldId!, e.Credits)).Order());
            Assert.Equal(
                settled.Where(s => s.Commit).Select(s => (s.HoldId, s.Committed)).Order(),
                ledger.Where(e => e.Kind == "committed").Select(e => (e.HoldId!, e.Credits)).Order());
            Assert.Equal(
                settled.Where(s => !s.Commit).Select(s => (s.HoldId, s.Refunded)).Order(),
                ledger.Where(e => e.Kind == "refunded").Select(e => (e.HoldId!, e.Credits)).Order());
            Assert.DoesNotContain(ledger, e => e.Kind == "expired");
            Assert.Equal(balance.Used, ledger.Where(e => e.Kind == "committed").Sum(e => e.Credits));
            Assert.Equal(balance.Held, ledger.Where(e => e.Kind == "reserved").Sum(e => e.Credits)
                - ledger.Where(e => e.Kind is "committed" or "refunded").Sum(e => e.Credits));
        }

        return new AuditReport(_reserved.Count, _settled.Values.Count(s => s.Commit), _settled.Values.Count(s => !s.Commit), entries);
    }

    private async Task WorkAsync(int worker, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            var (space, users) = Spaces[(worker * 7 + i) % Spaces.Count];
            var user = users[i % users.Length];
            var holdId = $"{prefix}-w{worker}-{i}";
            var count = 1 + (i % 3);
            QuotaHold hold;
            try
            {
                hold = await cluster.Quota.ReserveAsync(user, space, Spec, count, holdId);
            }
            catch (Exception exception)
            {
                Surface("reserve", holdId, exception);
                _unknown.Enqueue(new Unknown(space, user, holdId, count, null, false));
                continue;
            }

            if (!Record(space, user, hold))
            {
                continue;
            }

            // A generation that failed is refunded (one in three), one that succeeded committed.
            var commit = i % 3 != 2;
            try
            {
                Record(hold, commit, commit ? await hold.CommitAsync() : await hold.RefundAsync());
            }
            catch (Exception exception)
            {
                Surface(commit ? "commit" : "refund", holdId, exception);
                _unknown.Enqueue(new Unknown(space, user, holdId, count, hold, commit));
            }
        }
    }

    private bool Record(string space, string user, QuotaHold hold)
    {
        if (!hold.Succeeded || hold.HoldId is null)
        {
            _wrong.Enqueue($"reserve {hold.Reservation.Rejection?.ToString() ?? "free"} for {user} in {space}");
            return false;
        }

        _reserved[hold.HoldId] = new Hold(space, hold.HoldId, hold.Credits);
        Interlocked.Increment(ref _acknowledged);
        return true;
    }

    private void Record(QuotaHold hold, bool commit, SettleResult result)
    {
        if (!result.Succeeded || (commit ? result.CommittedCredits : result.RefundedCredits) != hold.Credits)
        {
            _wrong.Enqueue($"{(commit ? "commit" : "refund")} of {hold.HoldId}: {result}");
            return;
        }

        _settled[hold.HoldId!] = new Settled(hold.HoldId!, commit, result.CommittedCredits, result.RefundedCredits);
        Interlocked.Increment(ref _acknowledged);
    }

    private void Surface(string kind, string operationId, Exception exception)
    {
        _surfaced.Enqueue(new Surfaced(Now, kind, operationId, exception.GetType().Name, exception.Message));
        if (exception is not QuotaUnavailableException)
        {
            // The client's contract: an unknown outcome reaches the caller as QuotaUnavailableException only.
            _wrong.Enqueue($"{kind} {operationId} threw {exception.GetType().FullName}: {exception.Message}");
        }
    }

    private async Task<List<LedgerEntry>> LedgerAsync(string space)
    {
        var entries = new List<LedgerEntry>();
        for (long? after = 0; after is not null;)
        {
            var page = await UntilAnsweredAsync(() => cluster.Quota.GetLedgerAsync(space, new LedgerQuery(AfterSequence: after.Value, PageSize: LedgerQuery.MaxPageSize)));
            entries.AddRange(page.Entries);
            after = page.NextAfterSequence;
        }

        return entries;
    }

    /// <summary>The answer of <paramref name="call"/>, asked again while the engine cannot answer (a Space still
    /// recovering after a fault), at most <see cref="Patience"/>.</summary>
    private async Task<T> UntilAnsweredAsync<T>(Func<Task<T>> call)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                return await call();
            }
            catch (QuotaUnavailableException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>An error a caller saw: <paramref name="At"/> ms after the traffic was made (<see cref="Now"/>).</summary>
    public sealed record Surfaced(long At, string Kind, string OperationId, string Type, string Message);

    public sealed record AuditReport(int Reserves, int Commits, int Refunds, int LedgerEntries)
    {
        public int Operations => Reserves + Commits + Refunds;

        public override string ToString() => $"{Operations} operations acknowledged ({Reserves} reserves, {Commits} commits, {Refunds} refunds), {LedgerEntries} ledger entries";
    }

    private sealed record Hold(string Space, string HoldId, long Credits);

    private sealed record Settled(string HoldId, bool Commit, long Committed, long Refunded);

    private sealed record Unknown(string Space, string User, string OperationId, int Count, QuotaHold? Hold, bool Commit);
}
