using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using QuotaGrains.Grains.Diagnostics;
using QuotaGrains.Grains.Durability;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Notifications;

/// <summary>
/// A Space's durable outbox (key: Space id): it stores the notifications its Space hands over (deduplicated by sequence),
/// resolves the endpoints each goes to (global ones from configuration, the Space's own), and delivers each at least
/// once, on the retry schedule, until a 2xx or the schedule runs out (then failed, and visible). Attempts run beside
/// the grain's other calls (it is reentrant; its state changes between awaits only, one write in flight); a grain timer
/// wakes it for the next due attempt and, while anything is pending, a reminder re-activates it after a crash or a
/// deactivation. Nothing here is on a debit's path: the Space hands over after its events are durable, not awaited by
/// any request.
/// </summary>
[Reentrant]
internal sealed class NotificationOutboxGrain : Grain, INotificationOutboxGrain, ISpaceWebhooksGrain, IRemindable
{
    private const string ReminderName = "webhook-retries";

    private readonly IPersistentState<OutboxState> _state;
    private readonly WriteCoalescer _writes;
    private readonly WebhookOptions _options;
    private readonly WebhookSender _sender;
    private readonly TimeProvider _time;
    private readonly WebhookInstruments _instruments;
    private readonly ILogger<NotificationOutboxGrain> _logger;
    private readonly HashSet<DeliveryState> _inFlight = [];
    private IGrainTimer? _timer;
    private DateTimeOffset? _timerAt;
    // Unknown (null) until this activation sets or clears it: a reminder may remain from an earlier one.
    private bool? _reminderWanted;
    private Task _reminderChange = Task.CompletedTask;
    private long _reportedDepth;

    public NotificationOutboxGrain(
        IPersistentStateFactory stateFactory,
        IGrainContext grainContext,
        IOptions<QuotaStorageOptions> storageOptions,
        IOptions<WebhookOptions> options,
        WebhookSender sender,
        TimeProvider time,
        WebhookInstruments instruments,
        ILogger<NotificationOutboxGrain> logger)
    {
        _state = stateFactory.Create<OutboxState>(grainContext, "outbox", storageOptions.Value.ProviderName);
        _writes = new WriteCoalescer(() => _state.WriteStateAsync(), failed: WriteFailed);
        _options = options.Value;
        _sender = sender;
        _time = time;
        _instruments = instruments;
        _logger = logger;
    }

    private string SpaceId => this.GetPrimaryKeyString();

    private OutboxState State => _state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        ReportDepth();
        Pump();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        _instruments.AddDepth(-_reportedDepth);
        _reportedDepth = 0;
        return Task.CompletedTask;
    }

    // ---- From the Space ---------------------------------------------------------------------------------------

    public async Task AcceptAsync(IReadOnlyList<SpaceNotification> notifications)
    {
        var now = _time.GetUtcNow();
        var accepted = 0;
        foreach (var n in notifications.OrderBy(n => n.Sequence))
        {
            if (n.Sequence <= State.AcceptedThrough)
            {
                continue;
            }

            var entry = new OutboxEntry { Notification = n, Payload = WebhookPayload.Json(n), AcceptedAt = now };
            foreach (var (id, url) in Targets(n.Kind))
            {
                entry.Deliveries.Add(new DeliveryState { EndpointId = id, Url = url, NextAttemptAt = now + _options.Schedule[0] });
            }

            State.Entries.Add(entry);
            State.AcceptedThrough = n.Sequence;
            accepted++;
            WebhookLog.Accepted(_logger, SpaceId, n.Id, n.Type, entry.Deliveries.Count);
        }

        if (accepted == 0 && _writes.Idle)
        {
            // All taken before, and stored: the write that took them has completed.
            return;
        }

        Trim();
        ReportDepth();
        await _writes.WriteAsync();
        Pump();
    }

    // ---- Client API -------------------------------------------------------------------------------------------

    public async Task<WebhookEndpointResult> SetEndpointAsync(SetWebhookEndpointRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await AuthorizeAsync(request.ActorUserId) is { } refused)
        {
            return WebhookEndpointResult.Rejected(refused);
        }

        var problem = WebhookEndpoints.CheckUrl(request.Url)
            ?? _sender.CheckSpaceEndpoint(request.Url)
            ?? (request.Secret is null ? null : WebhookEndpoints.CheckSecret(request.Secret))
            ?? WebhookEndpoints.CheckKinds(request.Kinds)
            ?? (request.EndpointId is { } named && (string.IsNullOrWhiteSpace(named) || named.Length > 64 || named.StartsWith(WebhookEndpoints.GlobalPrefix, StringComparison.Ordinal))
                ? "EndpointId must be 1 to 64 characters and not start with 'global:'." : null);
        var endpointId = request.EndpointId ?? "ep_" + Guid.NewGuid().ToString("N");
        var existing = State.Endpoints.FindIndex(e => e.Id == endpointId);
        problem ??= existing < 0 && State.Endpoints.Count >= _options.MaxEndpointsPerSpace
            ? $"Space '{SpaceId}' already has {State.Endpoints.Count} endpoints, the most it may have." : null;
        if (problem is not null)
        {
            return WebhookEndpointResult.Rejected(new Rejection(RejectionCode.InvalidRequest, problem));
        }

        var secret = request.Secret ?? WebhookEndpoints.NewSecret();
        var endpoint = new SpaceEndpoint
        {
            Id = endpointId, Url = request.Url, Secret = secret, Kinds = request.Kinds?.ToList() ?? [], CreatedAt = _time.GetUtcNow(),
        };
        if (existing >= 0)
        {
            State.Endpoints[existing] = endpoint;
        }
        else
        {
            State.Endpoints.Add(endpoint);
        }

        await _writes.WriteAsync();
        return new WebhookEndpointResult { EndpointId = endpointId, Secret = secret };
    }

    public async Task<CommandResult> RemoveEndpointAsync(RemoveWebhookEndpointRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await AuthorizeAsync(request.ActorUserId) is { } refused)
        {
            return CommandResult.Rejected(refused);
        }

        if (State.Endpoints.RemoveAll(e => e.Id == request.EndpointId) == 0)
        {
            return CommandResult.Rejected(new Rejection(RejectionCode.InvalidRequest, $"Space '{SpaceId}' has no endpoint '{request.EndpointId}'."));
        }

        await _writes.WriteAsync();
        Pump();
        return CommandResult.Ok;
    }

    public Task<IReadOnlyList<WebhookEndpointView>> GetEndpointsAsync() =>
        Task.FromResult<IReadOnlyList<WebhookEndpointView>>(State.Endpoints.Select(e => new WebhookEndpointView(e.Id, e.Url, e.Kinds.ToArray(), e.CreatedAt)).ToList());

    public Task<IReadOnlyList<NotificationView>> GetNotificationsAsync() =>
        Task.FromResult<IReadOnlyList<NotificationView>>(Enumerable.Reverse(State.Entries)
            .Select(e => new NotificationView(e.Notification, WebhookPayload.Summary(e.Notification), e.Deliveries.Select(d => d.ToView()).ToList()))
            .ToList());

    public Task<IReadOnlyList<WebhookDeliveryAttempt>> GetDeliveriesAsync(int max) =>
        Task.FromResult<IReadOnlyList<WebhookDeliveryAttempt>>(Enumerable.Reverse(State.Log).Take(Math.Max(0, max)).ToList());

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Pump();
        return Task.CompletedTask;
    }

    // ---- Delivery ---------------------------------------------------------------------------------------------

    /// <summary>Starts every due attempt there is room for, then sets the timer for the next one. Synchronous: safe
    /// between any two awaits of this reentrant grain.</summary>
    private void Pump()
    {
        var now = _time.GetUtcNow();
        DateTimeOffset? next = null;
        foreach (var entry in State.Entries)
        {
            foreach (var delivery in entry.Deliveries)
            {
                if (delivery.Status != DeliveryStatus.Pending || _inFlight.Contains(delivery) || delivery.NextAttemptAt is not { } due)
                {
                    continue;
                }

                if (due <= now && _inFlight.Count < _options.MaxAttemptsInFlight)
                {
                    _inFlight.Add(delivery);
                    _ = AttemptAsync(entry, delivery);
                }
                else if (next is null || due < next)
                {
                    next = due;
                }
            }
        }

        WakeAt(next);
        WantReminder(_inFlight.Count > 0 || next is not null);
    }

    private async Task AttemptAsync(OutboxEntry entry, DeliveryState delivery)
    {
        var notification = entry.Notification;
        if (Secret(delivery.EndpointId) is not { } secret)
        {
            Ended(delivery, delivered: false, "endpoint removed");
        }
        else
        {
            var result = await _sender.SendAsync(delivery.Url, secret, notification.Id, entry.Payload,
                spaceEndpoint: !delivery.EndpointId.StartsWith(WebhookEndpoints.GlobalPrefix, StringComparison.Ordinal));
            if (delivery.Attempts == 0)
            {
                _instruments.OnFirstAttempt(result.At - notification.At);
            }

            delivery.Attempts++;
            delivery.LastAttemptAt = result.At;
            delivery.LastStatusCode = result.StatusCode;
            delivery.LastError = result.Error;
            _instruments.OnAttempt(result.Succeeded ? "success" : result.StatusCode is not null ? "http_error" : result.TimedOut ? "timeout" : "error", result.Latency);
            State.Log.Add(new WebhookDeliveryAttempt(notification.Id, delivery.EndpointId, delivery.Url, delivery.Attempts, result.At, result.StatusCode, result.Error, result.Latency));
            if (State.Log.Count > _options.MaxDeliveryLog)
            {
                State.Log.RemoveRange(0, State.Log.Count - _options.MaxDeliveryLog);
            }

            var outcome = result.StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? result.Error ?? "";
            if (result.Succeeded)
            {
                WebhookLog.Delivered(_logger, notification.Id, delivery.EndpointId, delivery.Attempts, result.StatusCode!.Value);
                Ended(delivery, delivered: true, null);
            }
            else if (delivery.Attempts >= _options.Schedule.Count)
            {
                WebhookLog.GaveUp(_logger, notification.Id, delivery.EndpointId, delivery.Attempts, outcome);
                Ended(delivery, delivered: false, null);
            }
            else
            {
                // The schedule counts from this attempt's end (a slow failure does not shorten the next wait).
                delivery.NextAttemptAt = _time.GetUtcNow() + _options.Schedule[delivery.Attempts];
                WebhookLog.AttemptFailed(_logger, notification.Id, delivery.EndpointId, delivery.Attempts, outcome, delivery.NextAttemptAt.Value);
            }
        }

        _inFlight.Remove(delivery);
        Trim();
        ReportDepth();
        try
        {
            await _writes.WriteAsync();
        }
        catch (Exception)
        {
            // Logged by WriteFailed; the activation reloads, and the reminder resumes from what was stored.
            return;
        }

        Pump();
    }

    private void Ended(DeliveryState delivery, bool delivered, string? error)
    {
        delivery.Status = delivered ? DeliveryStatus.Delivered : DeliveryStatus.Failed;
        delivery.NextAttemptAt = null;
        if (error is not null)
        {
            delivery.LastError = error;
        }

        _instruments.OnDeliveryEnded(delivered);
    }

    /// <summary>The endpoints a notification of <paramref name="kind"/> goes to: the global ones, then the Space's own.</summary>
    private IEnumerable<(string Id, string Url)> Targets(NotificationKind kind) =>
        _options.Endpoints.Where(e => WebhookEndpoints.Wants(e.Kinds, kind)).Select(e => (e.Id, e.Url))
            .Concat(State.Endpoints.Where(e => WebhookEndpoints.Wants(e.Kinds, kind)).Select(e => (e.Id, e.Url)));

    private string? Secret(string endpointId) =>
        _options.Endpoints.Find(e => e.Id == endpointId)?.Secret ?? State.Endpoints.Find(e => e.Id == endpointId)?.Secret;

    /// <summary>Pending notifications are never dropped; of the others, the newest <see cref="WebhookOptions.MaxNotificationsKept"/> stay.</summary>
    private void Trim()
    {
        var ended = State.Entries.Count(e => !e.Pending);
        for (var i = 0; ended > _options.MaxNotificationsKept && i < State.Entries.Count;)
        {
            if (!State.Entries[i].Pending)
            {
                State.Entries.RemoveAt(i);
                ended--;
            }
            else
            {
                i++;
            }
        }
    }

    private void ReportDepth()
    {
        long depth = State.Entries.Sum(e => e.Deliveries.Count(d => d.Status == DeliveryStatus.Pending));
        _instruments.AddDepth(depth - _reportedDepth);
        _reportedDepth = depth;
    }

    private void WakeAt(DateTimeOffset? instant)
    {
        if (instant == _timerAt)
        {
            return;
        }

        _timer?.Dispose();
        _timer = null;
        _timerAt = instant;
        if (instant is { } at)
        {
            _timer = this.RegisterGrainTimerAt(_time, at, static (grain, _) =>
            {
                grain._timerAt = null;
                grain.Pump();
                return Task.CompletedTask;
            });
        }
    }

    /// <summary>A reminder while anything is pending, so that retries outlive this activation (one change at a time).</summary>
    private void WantReminder(bool wanted)
    {
        if (wanted == _reminderWanted && _reminderChange.IsCompleted)
        {
            return;
        }

        _reminderWanted = wanted;
        _reminderChange = ChangeReminderAsync(_reminderChange);

        async Task ChangeReminderAsync(Task previous)
        {
            await previous.ContinueWith(static _ => { }, TaskScheduler.Current);
            try
            {
                if (_reminderWanted == true)
                {
                    await this.RegisterOrUpdateReminder(ReminderName, _options.ReminderPeriod, _options.ReminderPeriod);
                }
                else if (await this.GetReminder(ReminderName) is { } reminder)
                {
                    await this.UnregisterReminder(reminder);
                }
            }
            catch (Exception e)
            {
                // The timer still drives this activation; the next change tries again.
                _reminderWanted = null;
                WebhookLog.ReminderChangeFailed(_logger, e, SpaceId);
            }
        }
    }

    private async Task<Rejection?> AuthorizeAsync(string actorUserId)
    {
        var space = GrainFactory.GetGrain<ISpaceGrain>(SpaceId);
        if (await space.GetBalanceAsync() is null)
        {
            return new Rejection(RejectionCode.SpaceNotFound, $"No Space '{SpaceId}'.");
        }

        var role = (await space.GetMembersAsync()).FirstOrDefault(m => m.UserId == actorUserId)?.Role;
        return role switch
        {
            null => new Rejection(RejectionCode.NotAMember, $"User '{actorUserId}' is not a member of Space '{SpaceId}'."),
            SpaceRole.Member => new Rejection(RejectionCode.NotAuthorized, $"Only an Owner or Admin of Space '{SpaceId}' may change its webhook endpoints."),
            _ => null,
        };
    }

    private Exception WriteFailed(Exception exception)
    {
        // Memory may now be ahead of storage (or another activation wrote): reload from what is stored.
        WebhookLog.OutboxWriteFailed(_logger, exception, SpaceId);
        DeactivateOnIdle();
        return exception;
    }
}
