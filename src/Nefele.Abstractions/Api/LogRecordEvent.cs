using System.Text;
using Nefele.Client;
using Nefele.Validation;

namespace Nefele.Api;

/// <summary>
/// The data of one 'record' event of GET /v1/tenants/{tenant}/logs: one record of a process's
/// output. <c>time</c> is when hostd read it, RFC 3339 in UTC with nanoseconds. <c>text</c> is
/// the bytes as UTF-8; when they are not (binary output, or a character cut between two
/// records), invalid bytes show as U+FFFD in <c>text</c> and <c>base64</c> carries the exact bytes.
/// nef reads it with the same type.
/// </summary>
public sealed record LogRecordEvent(string Npid, string? Name, string? Node, string Stream, string Time, long Offset, string Text, string? Base64)
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The event's data for <paramref name="entry"/>.</summary>
    public static LogRecordEvent From(LogEntry entry)
    {
        string text;
        string? base64 = null;
        try
        {
            text = Strict.GetString(entry.Data);
        }
        catch (DecoderFallbackException)
        {
            text = entry.Text;
            base64 = Convert.ToBase64String(entry.Data);
        }

        return new LogRecordEvent(entry.Npid, entry.Name, entry.Node, LogFilters.Name(entry.Stream), LogFilters.FormatTime(entry.TimeUnixNano), entry.Offset, text, base64);
    }
}
