namespace Nefele.Cli.Parsing;

/// <summary>nef's flags and cspawn fields in the shared quantity grammar (<see cref="Validation.Units"/>), naming the flag on error.</summary>
internal static class Units
{
    /// <summary>"250m" (millicores), "1" or "1.5" (cores) → millicores.</summary>
    public static long ParseCpu(string text, string what) => Parse(Validation.Units.ParseCpu, text, what);

    /// <summary>"64Mi", "1Gi" (powers of 2), "512M", "1G" (powers of 10), "1048576" → bytes.</summary>
    public static long ParseMemory(string text, string what) => Parse(Validation.Units.ParseBytes, text, what);

    /// <summary>Requested CPU for ps: "250m", or "-" for best effort.</summary>
    public static string FormatCpu(long millis) => Validation.Units.FormatCpu(millis);

    /// <summary>Memory for ps: "64Mi", "488.3Mi", "512", or "-" for none.</summary>
    public static string FormatMemory(long bytes) => Validation.Units.FormatBytes(bytes);

    private static long Parse(Func<string, long> parse, string text, string what)
    {
        try
        {
            return parse(text);
        }
        catch (FormatException e)
        {
            throw new UsageException($"{what}: {e.Message}", e);
        }
    }
}
