using QuotaGrains.Domain.Plans;
using QuotaGrains.Domain.Renewal;

namespace QuotaGrains.Domain.Spaces;

/// <summary>Creating a Space on a plan, changing its plan, and merging a legacy Space's two pools.</summary>
public sealed partial class SpacePool
{
    private Decision<CommandResult> DecideCreate(CreateSpaceRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.OwnerUserId, "OwnerUserId") ?? CheckId(SpaceId, "SpaceId")) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (CheckPlan(request.Plan, request.CustomAllowance) is { } badPlan)
        {
            return CommandResult.Rejected(badPlan);
        }

        if (!Enum.IsDefined(request.Cadence))
        {
            return Invalid<CommandResult>($"Unknown cadence {(int)request.Cadence}.");
        }

        if (request.SubscribedAt is { } subscribed && subscribed > now)
        {
            return Invalid<CommandResult>("SubscribedAt is in the future.");
        }

        var fingerprint = Fingerprint.Start("create").Add(request.OwnerUserId).Add((long)request.Plan)
            .Add((long)request.Cadence).Add(request.SubscribedAt?.UtcTicks ?? -1).Add(request.CustomAllowance ?? -1).Value;
        if (State.Created)
        {
            return Replay<CommandResult>(request.OperationId, fingerprint)
                ?? CommandResult.Rejected(new Rejection(RejectionCode.SpaceAlreadyExists, $"Space '{SpaceId}' already exists."));
        }

        // Free Spaces renew monthly from their creation instant (DOMAIN.md, ours).
        var (cadence, anchor) = request.Plan == PlanTier.Free
            ? (BillingCadence.Monthly, RenewalSchedule.Normalize(now))
            : (request.Cadence, RenewalSchedule.Normalize(request.SubscribedAt ?? now));
        var cycle = RenewalSchedule.CycleAt(anchor, cadence, Max(now, anchor));
        var version = _rules.Plans.VersionAt(now);
        return Decision<CommandResult>.Of(new SpaceCreated(
            Next(1), now, request.OperationId, fingerprint, request.OwnerUserId, request.Plan, request.CustomAllowance,
            cadence, anchor, version.Version, version.AllowanceOf(request.Plan, request.CustomAllowance), cycle.Start, cycle.End));
    }

    private Decision<CommandResult> DecideChangePlan(ChangePlanRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.ActorUserId, "ActorUserId") ?? CheckPlan(request.Plan, request.CustomAllowance)) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (NotFound<CommandResult>() is { } missing)
        {
            return missing;
        }

        var fingerprint = Fingerprint.Start("change-plan").Add(request.ActorUserId).Add((long)request.Plan).Add(request.CustomAllowance ?? -1).Value;
        if (Replay<CommandResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (Authorize(request.ActorUserId, SpaceRole.Admin) is { } denied)
        {
            return CommandResult.Rejected(denied);
        }

        // Upgrade (same or larger allowance in the cycle's catalog version): at once. Downgrade: at the next renewal.
        var allowance = CurrentCatalog().AllowanceOf(request.Plan, request.CustomAllowance);
        return allowance >= State.Allowance
            ? Decision<CommandResult>.Of(new PlanUpgraded(Next(1), now, request.OperationId, fingerprint, request.Plan, request.CustomAllowance, allowance))
            : Decision<CommandResult>.Of(new PlanChangeScheduled(Next(1), now, request.OperationId, fingerprint, request.Plan, request.CustomAllowance, State.NextRenewal));
    }

    /// <summary>Merges a legacy Space's image and video pools into one, once: allowance and used are the sums.</summary>
    public IReadOnlyList<SpaceEvent> MigrateLegacyPools(DateTimeOffset now)
    {
        if (State.LegacyPools is not { } legacy)
        {
            return [];
        }

        // Stamped no later than a missed renewal, so that the renewals caught up after it keep time order.
        var at = Max(State.LastEventAt, now < State.NextRenewal ? now : State.NextRenewal);
        var migrated = new PoolsMigrated(
            Next(1), at, legacy.ImageAllowance, legacy.ImageUsed, legacy.VideoAllowance, legacy.VideoUsed,
            legacy.ImageAllowance + legacy.VideoAllowance, legacy.ImageUsed + legacy.VideoUsed);
        Apply(migrated);
        return [migrated];
    }

    private PlanCatalogVersion CurrentCatalog() =>
        _rules.Plans.Versions.FirstOrDefault(v => v.Version == State.CatalogVersion) ?? _rules.Plans.VersionAt(State.CycleStart);
}
