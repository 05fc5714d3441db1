using QuotaGrains.Grains.Diagnostics;

namespace QuotaGrains.Grains.Spaces;

/// <summary>The outbox hand-over: notifications are born from durable events (the durable copy's recent
/// notifications) and handed to the Space's outbox in order, one hand-over in flight, never awaited by a request. The
/// snapshot records how far the hand-over got; recovery hands over the rest again, and the outbox skips what it has.</summary>
internal sealed partial class SpaceLog
{
    private static readonly TimeSpan MaxHandOverDelay = TimeSpan.FromMinutes(1);

    /// <summary>Through which sequence notifications are handed over (tests).</summary>
    public long NotifiedThrough => _notifiedThrough;

    /// <summary>Starts a hand-over if a durable notification is not handed over yet. A few field reads otherwise.</summary>
    private void HandOverNotifications()
    {
        var recent = _durable.State.RecentNotifications;
        if (_handingOver || _closed || recent.Count == 0 || recent[^1].Sequence <= _notifiedThrough)
        {
            return;
        }

        _handingOver = true;
        _ = HandOverAsync();
    }

    private async Task HandOverAsync()
    {
        var delay = TimeSpan.FromSeconds(1);
        try
        {
            while (!_closed)
            {
                var batch = _durable.NotificationsAfter(_notifiedThrough);
                if (batch.Count == 0)
                {
                    return;
                }

                try
                {
                    await _services.Notifications.HandOverAsync(_spaceId, batch);
                    _notifiedThrough = Math.Max(_notifiedThrough, batch[^1].Sequence);
                    delay = TimeSpan.FromSeconds(1);
                }
                catch (Exception e)
                {
                    // The outbox is unreachable (its storage, a silo going): the events are durable, so try again.
                    WebhookLog.HandOverFailed(_logger, e, _spaceId, _notifiedThrough, delay);
                    await Task.Delay(delay, _services.Time);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxHandOverDelay.Ticks));
                }
            }
        }
        finally
        {
            _handingOver = false;
        }
    }
}
