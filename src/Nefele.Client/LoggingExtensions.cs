using Microsoft.Extensions.Logging;

namespace Nefele.Client;

internal static class LoggingExtensions
{
    /// <summary>A client library stays quiet unless something is wrong.</summary>
    public static ILoggingBuilder SetMinimumLevelWarning(this ILoggingBuilder logging) => logging.SetMinimumLevel(LogLevel.Warning);
}
