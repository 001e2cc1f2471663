using System.Globalization;
using System.Text;
using Nefele.Client;

namespace Nefele.Api;

/// <summary>
/// The rules of the REST API's attach WebSocket (<c>GET /v1/tenants/{t}/processes/{npid}/attach</c>)
/// that the server and its readers (nef attach) share: binary messages are terminal output (from the
/// server) and typed input (from the client); a client's text message is a JSON control message such
/// as <c>{"resize":{"rows":30,"cols":100}}</c>; the server ends the socket with a close frame whose
/// reason says how the process ended.
/// </summary>
public static class TerminalAttach
{
    /// <summary>The query parameter that asks for output only (any process; a viewer key suffices).</summary>
    public const string ReadOnlyQuery = "readOnly";

    /// <summary>The longest close reason a WebSocket close frame carries (RFC 6455: 125 bytes less the status code).</summary>
    public const int MaxCloseReasonBytes = 123;

    /// <summary>The most bytes of one text (control) message a server reads.</summary>
    public const int MaxControlMessageBytes = 4096;

    /// <summary>The control message that sets the terminal's window size.</summary>
    public static string ResizeMessage(int rows, int columns) =>
        "{\"resize\":{\"rows\":" + rows.ToString(CultureInfo.InvariantCulture) + ",\"cols\":" + columns.ToString(CultureInfo.InvariantCulture) + "}}";

    /// <summary>
    /// The close reason for a process that ended: its <see cref="ProcessEnd.Describe"/> ("exited 3",
    /// "killed by SIGKILL", "failed to start: …"), cut to <see cref="MaxCloseReasonBytes"/> on a character boundary.
    /// </summary>
    public static string CloseReason(ProcessEnd end) => FitCloseReason(end.Describe());

    /// <summary>
    /// <paramref name="text"/> on one line, cut to <see cref="MaxCloseReasonBytes"/> of UTF-8 on a
    /// character boundary ("..." marks the cut): what a close frame can carry.
    /// </summary>
    public static string FitCloseReason(string text)
    {
        text = text.ReplaceLineEndings(" ");
        if (Encoding.UTF8.GetByteCount(text) <= MaxCloseReasonBytes)
        {
            return text;
        }

        var length = text.Length;
        while (Encoding.UTF8.GetByteCount(text.AsSpan(0, length)) > MaxCloseReasonBytes - 3 || char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text[..length] + "...";
    }

    /// <summary>
    /// The exit status nef reports for a process that ended (as spawn --wait does): its exit code,
    /// 128 + N for signal N, 1 when it never ran or was lost.
    /// </summary>
    public static int ExitStatus(ProcessEnd end) => end.State switch
    {
        ProcessState.Exited when end.Signal > 0 => 128 + end.Signal,
        ProcessState.Exited => end.ExitCode,
        _ => 1,
    };

    /// <summary>The exit status a <see cref="CloseReason"/> stands for; null when the reason names no end (another close).</summary>
    public static int? ExitStatus(string? reason)
    {
        if (reason is null)
        {
            return null;
        }

        if (reason.StartsWith("exited ", StringComparison.Ordinal)
            && int.TryParse(reason.AsSpan("exited ".Length), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code))
        {
            return code;
        }

        if (reason.StartsWith("killed by ", StringComparison.Ordinal))
        {
            var name = reason["killed by ".Length..].Split(' ')[0];
            return Signals.Parse(name) is { } signal ? 128 + signal : null;
        }

        return reason.StartsWith("failed to start", StringComparison.Ordinal) || reason.StartsWith("lost", StringComparison.Ordinal) ? 1 : null;
    }
}
