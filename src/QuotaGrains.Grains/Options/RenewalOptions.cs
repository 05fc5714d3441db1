namespace QuotaGrains.Grains.Options;

/// <summary>Eager renewals: the renewal index and the reminder-driven clock that wakes Spaces at their renewal
/// instants (section <c>Quota:Renewals</c>). Renewals are exact without them; these make them happen on time when
/// nobody calls.</summary>
public sealed class RenewalOptions
{
    /// <summary>When false, Spaces are not indexed and the clock dispatches nothing (renewals stay exact, but land
    /// only when someone calls or a Space's own timer fires while it is active). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The clock's reminder period (default 1 min; at least <c>ReminderOptions.MinimumReminderPeriod</c>).
    /// Each tick dispatches every minute that starts before the next tick, plus one minute of margin.</summary>
    public TimeSpan ClockPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Each slot's index is split over this many grains (by a hash of the Space id), to bound one grain's
    /// state (one Azure Table entity holds under 1 MB: about 20,000 Spaces of 40-character ids). Fixed for the life
    /// of a service: Spaces are found under the shard they were registered in. Default 16.</summary>
    public int Shards { get; set; } = 16;

    /// <summary>Spaces one index grain wakes (or warms up) at once (default 64; a silo has up to
    /// <see cref="Shards"/> × this many wakes of one slot in flight).</summary>
    public int MaxWakesInFlight { get; set; } = 64;

    /// <summary>Minutes the clock has in flight at once, e.g. while catching up after an outage (default 60).</summary>
    public int MaxMinutesInFlight { get; set; } = 60;

    /// <summary>Attempts to wake one Space before its minute is left for the clock's next tick (default 3).</summary>
    public int WakeAttempts { get; set; } = 3;

    /// <summary>Wait between two attempts to wake a Space (default 1 s).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Spaces due at an instant are activated this long before it (default 30 s; zero: no warm-up), so that
    /// loading a Space from storage happens before its renewal second rather than in it; the renewal itself then lands
    /// at the second. Capped by <see cref="Lookahead"/>.</summary>
    public TimeSpan PrewarmLead { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Each silo activates the clock when it starts (default true), so that it runs (and registers its
    /// reminder) without waiting for a registration or a reminder tick.</summary>
    public bool StartClockOnSiloStart { get; set; } = true;

    /// <summary>The Azure table of reminders when storage is <c>azure</c> (default <c>QuotaReminders</c>).</summary>
    public string ReminderTable { get; set; } = "QuotaReminders";

    /// <summary>The clock dispatches a minute this long before it starts.</summary>
    public TimeSpan Lookahead => ClockPeriod + TimeSpan.FromMinutes(1);

    /// <summary>A Space registered with a renewal closer than this may have missed its minute's dispatch: its index
    /// grain wakes it on its own timer.</summary>
    public TimeSpan NearTerm => Lookahead + ClockPeriod;

    /// <summary>Returns the problems with these options, or nothing when they are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (ClockPeriod < TimeSpan.FromSeconds(1) || ClockPeriod > TimeSpan.FromHours(1))
        {
            yield return "ClockPeriod must be between 1 second and 1 hour.";
        }

        if (Shards is < 1 or > 256)
        {
            yield return "Shards must be between 1 and 256.";
        }

        if (MaxWakesInFlight is < 1 or > 100_000 || MaxMinutesInFlight is < 1 or > 10_000)
        {
            yield return "MaxWakesInFlight must be between 1 and 100,000 and MaxMinutesInFlight between 1 and 10,000.";
        }

        if (WakeAttempts is < 1 or > 100 || RetryDelay < TimeSpan.Zero)
        {
            yield return "WakeAttempts must be between 1 and 100 and RetryDelay not negative.";
        }

        if (PrewarmLead < TimeSpan.Zero)
        {
            yield return "PrewarmLead must not be negative.";
        }

        if (string.IsNullOrWhiteSpace(ReminderTable))
        {
            yield return "ReminderTable is empty.";
        }
    }
}
