using System.Globalization;
using System.Text;
using System.Text.Json;

namespace QuotaGrains.Grains.Notifications;

/// <summary>The JSON body of a webhook (docs/webhooks.md): <c>id</c>, <c>type</c>, <c>timestamp</c> (the event's
/// instant) and <c>data</c>, with the fields of the notification's kind. Built once per notification.</summary>
internal static class WebhookPayload
{
    public static string Json(SpaceNotification n)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", n.Id);
            json.WriteString("type", n.Type);
            json.WriteString("timestamp", n.At.ToUniversalTime());
            json.WriteStartObject("data");
            json.WriteString("spaceId", n.SpaceId);
            json.WriteNumber("sequence", n.Sequence);
            json.WriteString("cycleStart", n.CycleStart.ToUniversalTime());
            json.WriteNumber("used", n.Used);
            json.WriteNumber("allowance", n.Allowance);
            if (n.Percent is { } percent)
            {
                json.WriteNumber("percent", percent);
            }

            if (n.Available is { } available)
            {
                json.WriteNumber("available", available);
            }

            if (n.Required is { } required)
            {
                json.WriteNumber("required", required);
            }

            if (n.Plan is { } plan)
            {
                json.WriteString("plan", plan.ToString());
            }

            if (n.EffectiveAt is { } effective)
            {
                json.WriteString("effectiveAt", effective.ToUniversalTime());
            }

            if (n.NextRenewal is { } renewal)
            {
                json.WriteString("nextRenewal", renewal.ToUniversalTime());
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>One line for a page or a log.</summary>
    public static string Summary(SpaceNotification n) => n.Kind switch
    {
        NotificationKind.ThresholdCrossed => Invariant($"Usage reached {n.Percent}% ({n.Used} of {n.Allowance} credits)."),
        NotificationKind.PoolExhausted => Invariant($"Pool exhausted: {n.Required} credits refused with {n.Available} available; renews {n.NextRenewal:u}."),
        NotificationKind.CycleRenewed => Invariant($"Credits renewed: {n.Allowance} ({n.Plan}) until {n.NextRenewal:u}."),
        NotificationKind.PlanChanged => Invariant($"Plan changed to {n.Plan}, effective {n.EffectiveAt:u}."),
        _ => n.Type,
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
