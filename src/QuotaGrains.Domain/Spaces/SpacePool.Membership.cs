namespace QuotaGrains.Domain.Spaces;

/// <summary>Members and roles: adding, removing, and who may do what.</summary>
public sealed partial class SpacePool
{
    private Decision<CommandResult> DecideAddMember(AddMemberRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.ActorUserId, "ActorUserId") ?? CheckId(request.UserId, "UserId")) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (!Enum.IsDefined(request.Role))
        {
            return Invalid<CommandResult>($"Unknown role {(int)request.Role}.");
        }

        if (NotFound<CommandResult>() is { } missing)
        {
            return missing;
        }

        var fingerprint = Fingerprint.Start("add-member").Add(request.ActorUserId).Add(request.UserId).Add((long)request.Role).Value;
        if (Replay<CommandResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        var current = State.Members.TryGetValue(request.UserId, out var role) ? role : (SpaceRole?)null;
        var ownerChange = request.Role == SpaceRole.Owner || current == SpaceRole.Owner;
        if (Authorize(request.ActorUserId, ownerChange ? SpaceRole.Owner : SpaceRole.Admin) is { } denied)
        {
            return CommandResult.Rejected(denied);
        }

        if (current == SpaceRole.Owner && request.Role != SpaceRole.Owner && OwnerCount() == 1)
        {
            return Invalid<CommandResult>("The last Owner of a Space cannot be demoted.");
        }

        return Decision<CommandResult>.Of(new MemberAdded(Next(1), now, request.OperationId, fingerprint, request.UserId, request.Role));
    }

    private Decision<CommandResult> DecideRemoveMember(RemoveMemberRequest request, DateTimeOffset now)
    {
        if (request is null)
        {
            return Invalid<CommandResult>("The request is missing.");
        }

        if ((CheckId(request.OperationId, "OperationId") ?? CheckId(request.ActorUserId, "ActorUserId") ?? CheckId(request.UserId, "UserId")) is { } bad)
        {
            return CommandResult.Rejected(bad);
        }

        if (NotFound<CommandResult>() is { } missing)
        {
            return missing;
        }

        var fingerprint = Fingerprint.Start("remove-member").Add(request.ActorUserId).Add(request.UserId).Value;
        if (Replay<CommandResult>(request.OperationId, fingerprint) is { } replay)
        {
            return replay;
        }

        if (!State.Members.TryGetValue(request.UserId, out var role))
        {
            return CommandResult.Rejected(new Rejection(RejectionCode.NotAMember, $"User '{request.UserId}' is not a member of Space '{SpaceId}'."));
        }

        // Anyone may leave; removing someone else takes an Admin, removing an Owner takes an Owner.
        if (request.ActorUserId != request.UserId
            && Authorize(request.ActorUserId, role == SpaceRole.Owner ? SpaceRole.Owner : SpaceRole.Admin) is { } denied)
        {
            return CommandResult.Rejected(denied);
        }

        if (role == SpaceRole.Owner && OwnerCount() == 1)
        {
            return Invalid<CommandResult>("The last Owner of a Space cannot be removed.");
        }

        return Decision<CommandResult>.Of(new MemberRemoved(Next(1), now, request.OperationId, fingerprint, request.UserId));
    }

    private int OwnerCount() => State.Members.Values.Count(r => r == SpaceRole.Owner);

    private Rejection? Authorize(string actorUserId, SpaceRole atLeast)
    {
        if (!State.Members.TryGetValue(actorUserId, out var role))
        {
            return new Rejection(RejectionCode.NotAMember, $"User '{actorUserId}' is not a member of Space '{SpaceId}'.");
        }

        return role >= atLeast ? null : new Rejection(RejectionCode.NotAuthorized, $"User '{actorUserId}' is {role}; this needs {atLeast}.");
    }
}
