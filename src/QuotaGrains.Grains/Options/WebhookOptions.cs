namespace QuotaGrains.Grains.Options;

/// <summary>Webhook delivery of notifications (section <c>Quota:Webhooks</c>): the global endpoints, the per-attempt
/// timeout and the retry schedule, and what each Space's outbox keeps.</summary>
public sealed class WebhookOptions
{
    /// <summary>Svix's schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after each failed attempt
    /// (8 attempts over about 27.6 h); then the delivery is marked failed.</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultRetrySchedule =
    [
        TimeSpan.Zero, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30),
        TimeSpan.FromHours(2), TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>Endpoints that receive the notifications of every Space (<c>Quota:Webhooks:Endpoints:N:Url</c>,
    /// <c>:Secret</c>, optional <c>:Kinds</c> and <c>:Name</c>).</summary>
    public List<WebhookEndpointOptions> Endpoints { get; set; } = [];

    /// <summary>How long one attempt may take, connect to response (default 10 s); longer counts as a failed attempt.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The delay before each attempt, counted from the notification's hand-over for the first and from the
    /// previous failed attempt for the others; its length is the number of attempts. Unset: <see cref="DefaultRetrySchedule"/>.</summary>
    public TimeSpan[]? RetrySchedule { get; set; }

    /// <summary>Notifications an outbox keeps once every delivery of theirs has ended (default 100); pending ones are never dropped.</summary>
    public int MaxNotificationsKept { get; set; } = 100;

    /// <summary>Delivery attempts a Space's log keeps, newest (default 200).</summary>
    public int MaxDeliveryLog { get; set; } = 200;

    /// <summary>Endpoints one Space may have (default 10).</summary>
    public int MaxEndpointsPerSpace { get; set; } = 10;

    /// <summary>Attempts one outbox has in flight at once (default 8).</summary>
    public int MaxAttemptsInFlight { get; set; } = 8;

    /// <summary>Networks (CIDR, e.g. <c>10.20.0.0/16</c>, <c>127.0.0.1/32</c>) a Space's own endpoints may reach although
    /// they are not public (loopback, private, link-local, reserved). Empty by default: a Space's endpoint reaches public
    /// addresses only. Global endpoints are not restricted.</summary>
    public List<string> AllowedPrivateNetworks { get; set; } = [];

    /// <summary>How often a Space's reminder wakes its outbox while deliveries are pending, so that retries outlive the
    /// activation (default 1 min, Orleans' minimum reminder period).</summary>
    public TimeSpan ReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a silo waits, after the cluster declares another silo dead, before it sweeps that silo's journal
    /// stream for notifications whose hand-over the crash interrupted (default 15 s). The sweep decodes every record of
    /// the stream; right after a crash that CPU belongs to the dead silo's Spaces coming back on the survivors (a Space
    /// that recovers because it is called hands its notifications over itself). A silo that starts sweeps at once.</summary>
    public TimeSpan DeadSiloSweepDelay { get; set; } = TimeSpan.FromSeconds(15);

    public IReadOnlyList<TimeSpan> Schedule => RetrySchedule is { Length: > 0 } schedule ? schedule : DefaultRetrySchedule;

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        for (var i = 0; i < Endpoints.Count; i++)
        {
            foreach (var problem in Endpoints[i].Validate())
            {
                yield return $"Endpoints:{i}: {problem}";
            }
        }

        if (Endpoints.GroupBy(e => e.Id).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            yield return $"Endpoints: two endpoints are named '{twice.Key}' (set Name to tell them apart).";
        }

        if (AttemptTimeout <= TimeSpan.Zero || AttemptTimeout > TimeSpan.FromMinutes(5))
        {
            yield return "AttemptTimeout must be positive and at most 5 minutes.";
        }

        if (RetrySchedule is { } schedule && (schedule.Length is 0 or > 50 || schedule.Any(d => d < TimeSpan.Zero || d > TimeSpan.FromDays(7))))
        {
            yield return "RetrySchedule must have 1 to 50 delays, each between 0 and 7 days.";
        }

        if (MaxNotificationsKept is < 1 or > 10_000 || MaxDeliveryLog is < 1 or > 10_000)
        {
            yield return "MaxNotificationsKept and MaxDeliveryLog must be between 1 and 10,000.";
        }

        if (MaxEndpointsPerSpace is < 0 or > 100 || MaxAttemptsInFlight is < 1 or > 1_000)
        {
            yield return "MaxEndpointsPerSpace must be between 0 and 100 and MaxAttemptsInFlight between 1 and 1,000.";
        }

        if (AllowedPrivateNetworks.FirstOrDefault(n => !System.Net.IPNetwork.TryParse(n, out _)) is { } badNetwork)
        {
            yield return $"AllowedPrivateNetworks: '{badNetwork}' is not a network in CIDR notation (e.g. 10.20.0.0/16).";
        }

        if (ReminderPeriod < TimeSpan.FromSeconds(1))
        {
            yield return "ReminderPeriod must be at least 1 second.";
        }

        if (DeadSiloSweepDelay < TimeSpan.Zero || DeadSiloSweepDelay > TimeSpan.FromMinutes(10))
        {
            yield return "DeadSiloSweepDelay must be between 0 and 10 minutes.";
        }
    }
}

/// <summary>One global endpoint.</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>Names the endpoint in delivery states and the log as <c>global:{Name}</c> (default: its URL's host and port).</summary>
    public string? Name { get; set; }

    public string Url { get; set; } = "";

    /// <summary>The Standard Webhooks secret: <c>whsec_</c> followed by base64 of 24 to 64 random bytes.</summary>
    public string Secret { get; set; } = "";

    /// <summary>The notification types to send (<c>quota.threshold.crossed</c>, <c>quota.pool.exhausted</c>,
    /// <c>quota.cycle.renewed</c>, <c>quota.plan.changed</c>); empty: all.</summary>
    public List<string> Kinds { get; set; } = [];

    public string Id => WebhookEndpoints.GlobalPrefix + (string.IsNullOrWhiteSpace(Name) ? Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? uri.Authority : Url : Name);

    public IEnumerable<string> Validate()
    {
        if (WebhookEndpoints.CheckUrl(Url) is { } badUrl)
        {
            yield return $"Url: {badUrl}";
        }

        if (WebhookEndpoints.CheckSecret(Secret) is { } badSecret)
        {
            yield return $"Secret: {badSecret}";
        }

        if (WebhookEndpoints.CheckKinds(Kinds) is { } badKinds)
        {
            yield return $"Kinds: {badKinds}";
        }
    }
}

/// <summary>The rules an endpoint's URL, secret and kinds follow, global or per Space.</summary>
public static class WebhookEndpoints
{
    public const string SecretPrefix = "whsec_";

    /// <summary>How the ids of the global endpoints begin (a Space's own endpoint may not take one).</summary>
    public const string GlobalPrefix = "global:";

    public static string? CheckUrl(string? url) =>
        !Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            ? $"'{url}' is not an absolute http or https URL."
            : url!.Length > 2_048 ? "the URL is longer than 2,048 characters."
            : !string.IsNullOrEmpty(uri.UserInfo) ? "the URL must not carry credentials." : null;

    public static string? CheckSecret(string? secret)
    {
        if (secret is null || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal))
        {
            return $"a secret is '{SecretPrefix}' followed by base64.";
        }

        var bytes = new byte[secret.Length];
        return Convert.TryFromBase64String(secret[SecretPrefix.Length..], bytes, out var length) && length is >= 24 and <= 64
            ? null
            : $"a secret is '{SecretPrefix}' followed by base64 of 24 to 64 bytes.";
    }

    public static string? CheckKinds(IReadOnlyList<string>? kinds) =>
        kinds?.FirstOrDefault(k => !NotificationKinds.All.Contains(k)) is { } unknown
            ? $"'{unknown}' is not a notification type ({string.Join(", ", NotificationKinds.All)})."
            : null;

    /// <summary>A new secret: 32 random bytes.</summary>
    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static bool Wants(IReadOnlyList<string>? kinds, NotificationKind kind) =>
        kinds is null || kinds.Count == 0 || kinds.Contains(NotificationKinds.TypeOf(kind));
}
