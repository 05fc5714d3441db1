using QuotaGrains.Domain.Spaces;
using QuotaGrains.Grains.Spaces;

namespace QuotaGrains.Simulator;

internal enum OpKind
{
    Create,
    AddMember,
    RemoveMember,
    ChangePlan,
    Reserve,
    Commit,
    Refund,
}

/// <summary>What the clients know of a Space: only what they were told (acknowledged), plus the oracle's record of
/// what the journal acknowledged and what readers were shown.</summary>
internal sealed class SpaceModel(string id, string owner, int silo)
{
    public string Id { get; } = id;

    public string Owner { get; } = owner;

    public int Silo { get; set; } = silo;

    public bool Created { get; set; }

    public List<string> Members { get; } = [];

    public List<string> Removed { get; } = [];

    public List<HoldModel> Holds { get; } = [];

    public int NextUser { get; set; }

    /// <summary>Events the journal acknowledged, by sequence.</summary>
    public SortedDictionary<long, SpaceEvent> Acked { get; } = [];

    public long MaxAcked { get; set; }

    /// <summary>Everything through this sequence is durable (acknowledged, or found by a recovery).</summary>
    public long DurableFloor { get; set; }

    /// <summary>The highest durable sequence a read showed.</summary>
    public long Shown { get; set; }

    public bool LedgerCheckDue { get; set; }
}

internal sealed class HoldModel(string id, string user, int items)
{
    public string Id { get; } = id;

    public string User { get; } = user;

    public int Items { get; } = items;
}

/// <summary>One client request: retried with the same id and parameters until its outcome is known.</summary>
internal sealed class ClientOp(string id, SpaceModel space, OpKind kind, string user, object request)
{
    public string Id { get; } = id;

    public SpaceModel Space { get; } = space;

    public OpKind Kind { get; } = kind;

    public string User { get; } = user;

    public object Request { get; } = request;

    /// <summary>The first definitive answer.</summary>
    public OperationResult? Result { get; set; }

    public bool Unknown { get; set; }

    public bool WasUnknown { get; set; }

    public bool Abandoned { get; set; }

    /// <summary>A reuse of an acknowledged id with other parameters: must be refused.</summary>
    public ClientOp? Reuses { get; init; }

    public long? Sequence { get; set; }

    public bool HadEvents { get; set; }

    public DateTimeOffset AnsweredAt { get; set; }

    public long SentAtFloor { get; set; }

    public SimSilo? Silo { get; set; }

    public override string ToString() => $"{Kind} {Id} by {User} on {Space.Id}: {Request}";
}

internal sealed partial class Simulation
{
    private static readonly string[] PaidFeatures = ["ai-shadows", "virtual-model", "ghost-mannequin", "edit-with-ai", "recolor", "ai-video"];
    private static readonly string[] FreeFeatures = ["white-background", "template", "background-removal"];
    private readonly List<ClientOp> _rejectedAfterUnknown = [];

    private void Issue()
    {
        if (_unknown.Count > 0 && Random.Next(3) == 0)
        {
            Retry(Pick(_unknown));
            return;
        }

        var space = Pick(_spaceList);
        var now = Clock.GetUtcNow();
        if (!space.Created)
        {
            var plan = (PlanTier)Random.Next(5);
            var cadence = (BillingCadence)Random.Next(3);
            DateTimeOffset? subscribed = Random.Next(4) switch
            {
                0 => null,
                1 => now.AddDays(-Random.Next(60)).AddSeconds(-Random.Next(86_400)),
                2 => new DateTimeOffset(2028, 2, 29, 2, 11, 7, TimeSpan.Zero) is var leap && leap <= now ? leap : null,
                _ => LastDayOfAMonthBefore(now),
            };
            Send(NewOp(space, OpKind.Create, space.Owner, new CreateSpaceRequest(NextId(), space.Owner, plan, cadence, subscribed, plan == PlanTier.Enterprise ? 50 + Random.Next(5_000) : null)));
            return;
        }

        var roll = Random.Next(100);
        if (roll < 12)
        {
            StartBalanceRead(space);
        }
        else if (roll < 45)
        {
            Reserve(space);
        }
        else if (roll < 65 && space.Holds.Count > 0)
        {
            Settle(space, commit: Random.Next(3) > 0);
        }
        else if (roll < 70)
        {
            var user = $"user-{space.Id}-{space.NextUser++}";
            Send(NewOp(space, OpKind.AddMember, space.Owner, new AddMemberRequest(NextId(), space.Owner, user, Random.Next(4) == 0 ? SpaceRole.Admin : SpaceRole.Member)));
        }
        else if (roll < 73 && space.Members.Count > 0)
        {
            // Preferably one with open holds: they stay theirs to settle.
            var withHolds = space.Members.Where(m => space.Holds.Exists(h => h.User == m)).ToList();
            var user = withHolds.Count > 0 && Random.Next(2) == 0 ? Pick(withHolds) : Pick(space.Members);
            Send(NewOp(space, OpKind.RemoveMember, space.Owner, new RemoveMemberRequest(NextId(), space.Owner, user)));
        }
        else if (roll < 77)
        {
            var plan = (PlanTier)Random.Next(5);
            Send(NewOp(space, OpKind.ChangePlan, space.Owner, new ChangePlanRequest(NextId(), space.Owner, plan, plan == PlanTier.Enterprise ? 50 + Random.Next(5_000) : null)));
        }
        else if (roll < 85 && _acked.Count > 0)
        {
            // A retry of an acknowledged request: the same outcome, replayed, never a second charge.
            var op = _acked[_acked.Count - 1 - Random.Next(Math.Min(_acked.Count, 50))];
            if (InWindow(op) && !_inFlight.Contains(op))
            {
                Counters.Add("retries.acked");
                Send(op);
            }
        }
        else if (roll < 87 && _acked.Count > 0)
        {
            var original = _acked[_acked.Count - 1 - Random.Next(Math.Min(_acked.Count, 50))];
            if (InWindow(original) && original.Request is ReserveRequest r)
            {
                Counters.Add("reuses");
                Send(new ClientOp(original.Id, original.Space, OpKind.Reserve, original.User, r with { Spec = r.Spec with { Resolution = (ResolutionTier)(((int)r.Spec.Resolution + 1) % 3) } }) { Reuses = original });
            }
        }
        else
        {
            Reserve(space);
        }
    }

    private void Reserve(SpaceModel space)
    {
        var users = space.Members.Append(space.Owner).ToList();
        var user = space.Removed.Count > 0 && Random.Next(20) == 0 ? Pick(space.Removed) : Pick(users);
        var free = Random.Next(10) == 0;
        var feature = free ? Pick(FreeFeatures) : Pick(PaidFeatures);
        var media = feature is "virtual-model" or "edit-with-ai" && Random.Next(4) == 0 || feature == "ai-video" ? MediaKind.Video : MediaKind.Image;
        var count = Random.Next(10) switch
        {
            0 => 2 + Random.Next(SpaceRules.MaxBatchItems - 1),
            1 when Random.Next(5) == 0 => SpaceRules.MaxBatchItems + Random.Next(2),
            _ => 1,
        };
        Send(NewOp(space, OpKind.Reserve, user, new ReserveRequest(NextId(), new GenerationSpec(feature, media, (ResolutionTier)Random.Next(3)), count)));
    }

    private void Settle(SpaceModel space, bool commit)
    {
        var hold = Pick(space.Holds);
        IReadOnlyList<int>? items = hold.Items == 1 || Random.Next(2) == 0
            ? null
            : Enumerable.Range(0, hold.Items).Where(_ => Random.Next(3) == 0).DefaultIfEmpty(0).ToList();
        var request = new SettleRequest(NextId(), hold.Id, items);
        Send(NewOp(space, commit ? OpKind.Commit : OpKind.Refund, hold.User, request));
    }

    private ClientOp NewOp(SpaceModel space, OpKind kind, string user, object request) =>
        new(request switch
        {
            CreateSpaceRequest c => c.OperationId,
            AddMemberRequest a => a.OperationId,
            RemoveMemberRequest r => r.OperationId,
            ChangePlanRequest p => p.OperationId,
            ReserveRequest r => r.OperationId,
            SettleRequest s => s.OperationId,
            _ => throw new InvalidOperationException(),
        }, space, kind, user, request);

    private string NextId() => $"op-{_nextOp++}";

    private DateTimeOffset LastDayOfAMonthBefore(DateTimeOffset now)
    {
        var month = new DateTimeOffset(now.Year, now.Month, 1, 2, 11, 7, TimeSpan.Zero).AddMonths(-Random.Next(1, 4));
        return month.AddDays(DateTime.DaysInMonth(month.Year, month.Month) - 1);
    }

    /// <summary>Still inside the operation window after any recovery: within the events a snapshot keeps ids for, and
    /// well within the retention time.</summary>
    private bool InWindow(ClientOp op) =>
        op.Sequence is { } sequence && op.Space.DurableFloor - sequence < SpaceRules.MaxSnapshotOperations / 2
        && Clock.GetUtcNow() - op.AnsweredAt < SpaceRules.OperationIdRetention / 4;

    private void Retry(ClientOp op)
    {
        if (_inFlight.Contains(op))
        {
            return;
        }

        if (op.Space.DurableFloor - op.SentAtFloor > SpaceRules.MaxSnapshotOperations / 2)
        {
            // Too late to ask: the id may have left the window. The client gives up (a hold expires).
            op.Abandoned = true;
            _unknown.Remove(op);
            Counters.Add("unknown.abandoned");
            return;
        }

        Counters.Add("retries.unknown");
        Send(op);
    }

    private void Send(ClientOp op)
    {
        _operations++;
        var host = Host(op.Space);
        op.Silo = host.Silo;
        if (op.Result is null && !op.WasUnknown)
        {
            op.SentAtFloor = op.Space.DurableFloor;
        }

        _inFlight.Add(op);
        Trace($"> {op}");
        _ = host.Silo.Scheduler.Start(() => RunAsync(op, host));
    }

    private async Task RunAsync(ClientOp op, SpaceHost host)
    {
        OperationResult result;
        long? sequence;
        bool durable;
        try
        {
            (result, sequence, durable) = op.Request switch
            {
                CreateSpaceRequest c => Widen(await host.CallAsync((p, now) => p.Create(c, now), op.Id)),
                AddMemberRequest a => Widen(await host.CallAsync((p, now) => p.AddMember(a, now), op.Id)),
                RemoveMemberRequest r => Widen(await host.CallAsync((p, now) => p.RemoveMember(r, now), op.Id)),
                ChangePlanRequest c => Widen(await host.CallAsync((p, now) => p.ChangePlan(c, now), op.Id)),
                ReserveRequest r => Widen(await host.CallAsync((p, now) => p.Reserve(op.User, r, now), op.Id)),
                SettleRequest s when op.Kind == OpKind.Commit => Widen(await host.CallAsync((p, now) => p.Commit(op.User, s, now), op.Id)),
                SettleRequest s => Widen(await host.CallAsync((p, now) => p.Refund(op.User, s, now), op.Id)),
                _ => throw new InvalidOperationException(),
            };
        }
        catch (QuotaUnavailableException e)
        {
            Unknown(op, e.Message);
            return;
        }
        catch (CheckFailedException)
        {
            throw;
        }
        catch (Exception e)
        {
            Violate($"{op} failed with {e.GetType().Name} (not an unknown outcome): {e.Message}");
            return;
        }

        Answered(op, result, sequence, durable);
    }

    private static (OperationResult, long?, bool) Widen<T>((T Result, long? Sequence, bool Durable) answer)
        where T : OperationResult => (answer.Result, answer.Sequence, answer.Durable);

    private void Unknown(ClientOp op, string why)
    {
        _inFlight.Remove(op);
        Trace($"? {op.Id} unknown: {why}");
        if (op.Result is null && op.Reuses is null && !op.Abandoned)
        {
            Counters.Add("unknown");
            op.Unknown = op.WasUnknown = true;
            if (!_unknown.Contains(op))
            {
                _unknown.Add(op);
            }
        }
    }

    private void Answered(ClientOp op, OperationResult result, long? sequence, bool durable)
    {
        _inFlight.Remove(op);
        Trace($"< {op.Id} {Describe(result)}{(sequence is { } at ? $" #{at}" : "")}");
        if (op.Reuses is { } original)
        {
            if (result.Rejection?.Code != RejectionCode.OperationIdReused)
            {
                Violate($"reuse of {original.Id} with other parameters answered {Describe(result)}, not OperationIdReused (first: {Describe(original.Result!)})");
            }

            return;
        }

        if (op.Abandoned)
        {
            return;
        }

        if (op.Result is { } first)
        {
            // A retry of an answered request.
            if (first.Succeeded && op.HadEvents && (!result.Replayed || !Same(first, result)))
            {
                Violate($"retry of acknowledged {op} answered {Describe(result)}{(result.Replayed ? "" : " as a new request")}; the first answer was {Describe(first)}");
            }

            Counters.Add("replays.checked");
            return;
        }

        op.Result = result;
        op.Unknown = false;
        op.AnsweredAt = Clock.GetUtcNow();
        op.Sequence = sequence;
        op.HadEvents = durable || (result.Replayed && result.Succeeded);
        if (op.WasUnknown)
        {
            _unknown.Remove(op);
            Counters.Add(result.Replayed ? "unknown.resolved-landed" : "unknown.resolved-fresh");
            if (!result.Succeeded && !result.Replayed)
            {
                _rejectedAfterUnknown.Add(op);
            }
        }

        if (!result.Succeeded)
        {
            Counters.Add("rejected." + result.Rejection!.Code);
            if (op.Request is SettleRequest settle && result.Rejection.Code is RejectionCode.HoldNotFound or RejectionCode.HoldExpired)
            {
                op.Space.Holds.RemoveAll(h => h.Id == settle.HoldId);
            }

            return;
        }

        if (op.HadEvents && sequence is not null)
        {
            _acked.Add(op);
        }

        var space = op.Space;
        switch (op.Request)
        {
            case CreateSpaceRequest:
                space.Created = true;
                break;
            case AddMemberRequest a when !space.Members.Contains(a.UserId):
                space.Members.Add(a.UserId);
                space.Removed.Remove(a.UserId);
                break;
            case RemoveMemberRequest r:
                space.Members.Remove(r.UserId);
                space.Removed.Add(r.UserId);
                break;
            case ReserveRequest r when result is ReserveResult { HoldId: { } holdId }:
                space.Holds.Add(new HoldModel(holdId, op.User, r.Count));
                break;
            case SettleRequest s when result is SettleResult { ItemsPending: 0 }:
                space.Holds.RemoveAll(h => h.Id == s.HoldId);
                break;
        }
    }

    private static bool Same(OperationResult a, OperationResult b) => (a with { Replayed = false }) == (b with { Replayed = false });

    private static string Describe(OperationResult r) => r switch
    {
        { Rejection: { } rejection } => $"rejected {rejection.Code}{(r.Replayed ? " (replayed)" : "")}",
        ReserveResult x => $"reserved {x.HoldId} {x.Items}x{x.UnitCredits} avail {x.Available}{(r.Replayed ? " (replayed)" : "")}",
        SettleResult x => $"settled {x.HoldId} +{x.CommittedCredits} -{x.RefundedCredits} pending {x.ItemsPending}{(r.Replayed ? " (replayed)" : "")}",
        _ => $"ok{(r.Replayed ? " (replayed)" : "")}",
    };

    // ---- Reads and checks -----------------------------------------------------------------------------------------

    private void StartBalanceRead(SpaceModel space)
    {
        _operations++;
        Counters.Add("reads");
        var read = StartRead(space, log =>
        {
            var view = log.ReadView(out var now);
            CheckRead(space, log.DurableSequence, view, now);
            return view.Balance(now);
        });
        Trace($"> read {space.Id}");
    }

    private Task<T> StartRead<T>(SpaceModel space, Func<SpaceLog, T> read)
    {
        var host = Host(space);
        return host.Silo.Scheduler.Start(() => host.ReadAsync(read));
    }

    /// <summary>A read shows only what cannot be lost, advanced to the instant of the read.</summary>
    private void CheckRead(SpaceModel space, long shown, SpacePool view, DateTimeOffset now)
    {
        if (shown > space.DurableFloor)
        {
            Violate($"read of {space.Id} showed #{shown}, but only #{space.DurableFloor} is durable");
        }

        space.Shown = Math.Max(space.Shown, shown);
        var state = view.State;
        if (!state.Created)
        {
            return;
        }

        if (state.CycleStart > now || state.NextRenewal <= now)
        {
            Violate($"read of {space.Id} at {now:O} showed the cycle {state.CycleStart:O}..{state.NextRenewal:O} (invariant 4)");
        }

        if (state.Holds.Values.FirstOrDefault(h => h.ExpiresAt <= now) is { } stale)
        {
            Violate($"read of {space.Id} at {now:O} showed hold {stale.HoldId} that expired at {stale.ExpiresAt:O} (invariant 4)");
        }

        CheckState(space.Id, "read", state);
    }

    /// <summary>After every step: the invariants of every active Space's live pool.</summary>
    private void CheckLive()
    {
        foreach (var silo in _silos)
        {
            foreach (var host in silo.Hosts.Values)
            {
                if (host.Active is not { } log)
                {
                    continue;
                }

                var live = log.Live;
                CheckState(host.SpaceId, "live", live.State);
                if (live.Operations.Count > SpaceRules.MaxRememberedOperations)
                {
                    Violate($"{host.SpaceId} remembers {live.Operations.Count} operations, over {SpaceRules.MaxRememberedOperations}");
                }

                var space = _spaces[host.SpaceId];
                if ((space.LedgerCheckDue || _steps % 997 == 0) && live.State.Sequence == log.DurableSequence && host.Idle)
                {
                    CheckLedger(space, log);
                }
            }
        }

        if (JournalStore.Bytes > 0 && _silos.Any(s => s.Reader.CachedBytes > JournalOptions.RecoveryCacheBytes + (2L * JournalOptions.RecoveryReadBytes * JournalOptions.MaxRecoveryReadsInFlight) + JournalStore.Bytes))
        {
            Violate("the recovery cache is over its bound");
        }
    }

    /// <summary>Invariants 1 and 2 on one state: used + held within the allowance, held the sum of the open holds,
    /// used the cycle's charges; the history and notifications bounded.</summary>
    private void CheckState(string spaceId, string what, SpaceState state)
    {
        var held = state.Holds.Values.Sum(h => h.PendingCredits);
        if (state.Held != held || state.Used < 0 || state.Held < 0 || state.Used + state.Held > state.Allowance)
        {
            Violate($"{what} {spaceId} #{state.Sequence}: used {state.Used} + held {state.Held} (holds sum {held}) vs allowance {state.Allowance} (invariant 1)");
        }

        if (state.Used != state.CurrentUsage.Credits)
        {
            Violate($"{what} {spaceId} #{state.Sequence}: used {state.Used} but the cycle's charges sum {state.CurrentUsage.Credits} (invariant 2)");
        }

        foreach (var hold in state.Holds.Values)
        {
            if (hold.Pending <= 0 || hold.Pending != hold.Items.Count(i => i == HoldItemStatus.Pending))
            {
                Violate($"{what} {spaceId}: hold {hold.HoldId} pending {hold.Pending} of {string.Join(",", hold.Items)}");
            }
        }

        if (state.History.Count > SpaceRules.UsageHistoryCycles)
        {
            Violate($"{what} {spaceId}: {state.History.Count} past cycles kept (state size)");
        }
    }

    /// <summary>The ledger (the table and the pages the next snapshot writes) equals the durable events: every sequence
    /// once, no gap; each acknowledged event as it was acknowledged; the balances it adds up to are the pool's, to the
    /// credit; no operation id twice; every acknowledged request in it once; none that was refused after an unknown
    /// outcome.</summary>
    private void CheckLedger(SpaceModel space, SpaceLog log)
    {
        space.LedgerCheckDue = false;
        Counters.Add("ledger-checks");
        var durable = log.DurableSequence;
        var entries = new List<LedgerEntry>();
        long after = 0;
        while (true)
        {
            var page = log.LedgerAsync(new LedgerQuery(AfterSequence: after, PageSize: LedgerQuery.MaxPageSize));
            if (!page.IsCompletedSuccessfully)
            {
                Violate($"ledger of {space.Id} could not be read synchronously");
            }

            entries.AddRange(page.Result.Entries);
            if (page.Result.NextAfterSequence is not { } next)
            {
                break;
            }

            after = next;
        }

        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Sequence != i + 1)
            {
                Violate($"ledger of {space.Id}: entry {i + 1} is #{entries[i].Sequence} (gap or duplicate)");
            }
        }

        if (entries.Count != durable)
        {
            Violate($"ledger of {space.Id} has {entries.Count} entries, the Space {durable} events");
        }

        foreach (var (sequence, e) in space.Acked)
        {
            if (sequence <= durable && LedgerEntries.From(e) != entries[(int)sequence - 1])
            {
                Violate($"ledger of {space.Id}: #{sequence} is {entries[(int)sequence - 1]}, the acknowledged event {e}");
            }
        }

        long allowance = 0, used = 0, held = 0;
        foreach (var entry in entries)
        {
            switch (entry.Kind)
            {
                case "created" or "plan-upgraded" or "migrated":
                    allowance = entry.Credits;
                    break;
                case "renewed":
                    allowance = entry.Credits;
                    used = 0;
                    break;
                case "reserved":
                    held += entry.Credits;
                    break;
                case "committed":
                    held -= entry.Credits;
                    used += entry.Credits;
                    break;
                case "refunded" or "expired":
                    held -= entry.Credits;
                    break;
            }

            if (held < 0 || used + held > allowance)
            {
                Violate($"ledger of {space.Id} at #{entry.Sequence}: used {used} + held {held} vs allowance {allowance} (invariant 1 over the ledger)");
            }
        }

        var state = log.Live.State;
        if (state.Sequence == durable && (state.Allowance != allowance || state.Used != used || state.Held != held))
        {
            Violate($"ledger of {space.Id} adds up to allowance {allowance} used {used} held {held}; the pool has {state.Allowance}/{state.Used}/{state.Held}");
        }

        var byOperation = entries.Where(e => e.OperationId is not null).GroupBy(e => e.OperationId!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        if (byOperation.FirstOrDefault(g => g.Value > 1) is { Key: not null } twice)
        {
            Violate($"ledger of {space.Id}: operation {twice.Key} carried out {twice.Value} times");
        }

        foreach (var op in _acked.Where(o => o.Space == space && o.Sequence <= durable))
        {
            if (!byOperation.ContainsKey(op.Id))
            {
                Violate($"ledger of {space.Id}: acknowledged {op} (#{op.Sequence}) is missing");
            }
        }

        foreach (var op in _rejectedAfterUnknown.Where(o => o.Space == space))
        {
            if (byOperation.ContainsKey(op.Id))
            {
                Violate($"ledger of {space.Id}: {op.Id} was refused on retry ({Describe(op.Result!)}) but its first attempt is in the ledger");
            }
        }
    }

    private void CheckLedger(SpaceModel space)
    {
        var silo = _silos[space.Silo];
        if (silo.Hosts.TryGetValue(space.Id, out var host) && host.Active is { } log)
        {
            CheckLedger(space, log);
        }
    }
}
