using System.Globalization;

namespace Nefele.Cli.Output;

/// <summary>ps's AGE column: whole seconds, minutes, hours or days, truncated ("5s", "3m", "2h", "4d").</summary>
internal static class Age
{
    public static string Format(TimeSpan age)
    {
        if (age < TimeSpan.Zero)
        {
            // The server's clock is ahead of ours.
            age = TimeSpan.Zero;
        }

        var (value, unit) = age.TotalSeconds < 60 ? (age.TotalSeconds, "s")
            : age.TotalMinutes < 60 ? (age.TotalMinutes, "m")
            : age.TotalHours < 24 ? (age.TotalHours, "h")
            : (age.TotalDays, "d");
        return ((long)value).ToString(CultureInfo.InvariantCulture) + unit;
    }
}
