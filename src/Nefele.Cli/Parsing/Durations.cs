namespace Nefele.Cli.Parsing;

/// <summary>
/// The waits nef's messaging flags take (--timeout, --wait), in the one duration grammar every door
/// uses (<see cref="Nefele.Validation.Units.ParseDuration"/>: "500ms", "10s", "2m", a bare number of seconds, or 0).
/// </summary>
internal static class Durations
{
    public static TimeSpan Parse(string text, string flag)
    {
        try
        {
            return Nefele.Validation.Units.ParseDuration(text);
        }
        catch (FormatException e)
        {
            throw new UsageException($"{flag}: {e.Message}");
        }
    }

    /// <summary>"10s", "500ms": how nef words a wait in its messages.</summary>
    public static string Format(TimeSpan span)
    {
        var ms = (long)Math.Ceiling(span.TotalMilliseconds);
        return ms % 1000 == 0 ? $"{ms / 1000}s" : $"{ms}ms";
    }
}
