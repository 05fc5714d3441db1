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
        _handOver = HandOverAsync();
    }

    /// <summary>Completes once every durable notification is in the outbox: the journal records they were born from are
    /// then no longer needed for them (the notification recovery sweep and retention wait for this before a stream that
    /// holds them may go). Fails if the Space closes first.</summary>
    public async Task HandedOverAsync()
    {
        while (!HandedOver)
        {
            if (_closed)
            {
                throw new QuotaUnavailableException($"Space '{_spaceId}' closed before its notifications after {_notifiedThrough} were handed to its outbox; its next activation hands them over.");
            }

            HandOverNotifications();
            await _handOver;
        }
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
                    ReleaseHeldSegments();
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

    /// <summary>Whether every durable notification is handed over: until then the Space keeps its journal segments
    /// (they hold the events the notifications were born from, which a recovery sweep finds after a crash).</summary>
    private bool HandedOver => _durable.NotificationsAfter(_notifiedThrough).Count == 0;

    /// <summary>Releases the journal segments a snapshot let go of while a hand-over was pending.</summary>
    private void ReleaseHeldSegments()
    {
        if (_releaseHeld is { } from && HandedOver)
        {
            _releaseHeld = null;
            _services.Journal.ReleaseBefore(_spaceId, from);
        }
    }
}
