using System.Globalization;

namespace QuotaGrains.UsagePage.Components;

/// <summary>How the page writes numbers and instants: invariant culture (the same on every host), instants in UTC.</summary>
internal static class Fmt
{
    public static string Credits(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Instant(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Day(DateTimeOffset value) => value.UtcDateTime.ToString("MMM d", CultureInfo.InvariantCulture);

    public static string Iso(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>An SVG coordinate: invariant, two decimals at most.</summary>
    public static string N(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>The same text as usage.js writes each second: "3d 04h 05m 06s".</summary>
    public static string Countdown(TimeSpan left) =>
        left <= TimeSpan.Zero
            ? "renewing"
            : string.Create(CultureInfo.InvariantCulture, $"{(int)left.TotalDays}d {left.Hours:00}h {left.Minutes:00}m {left.Seconds:00}s");

    public static string Unix(DateTimeOffset value) => value.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}
