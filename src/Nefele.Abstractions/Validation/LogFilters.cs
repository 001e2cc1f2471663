using Nefele.Client;

namespace Nefele.Validation;

/// <summary>The grammar of log filters, shared by the REST query, nef's flags and the SDK.</summary>
public static class LogFilters
{
    /// <summary>"stdout" or "stderr" → that stream; null or empty → both.</summary>
    /// <exception cref="FormatException">Another word; the message says what is allowed.</exception>
    public static LogStream ParseStream(string? text) => text switch
    {
        null or "" => LogStream.All,
        "stdout" => LogStream.Stdout,
        "stderr" => LogStream.Stderr,
        _ => throw new FormatException($"stream '{text}' is not one of stdout, stderr"),
    };

    /// <summary>The stream's name as <see cref="ParseStream"/> reads it ("stdout", "stderr"; "" for both).</summary>
    public static string Name(LogStream stream) => stream switch
    {
        LogStream.Stdout => "stdout",
        LogStream.Stderr => "stderr",
        _ => "",
    };
}
