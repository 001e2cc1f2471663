namespace Nefele.Api;

/// <summary>
/// The rules the REST API's server-sent event streams (monitor events, logs follow) share with
/// their readers (nef), so a reader can tell a quiet stream from a dead node and resume elsewhere.
/// </summary>
public static class EventStreams
{
    /// <summary>
    /// How often a node writes a comment line on a stream that has nothing else to say, by default
    /// (Api:StreamKeepAlive). A node that dies without closing the connection (powered off,
    /// partitioned) then shows as silence.
    /// </summary>
    public static readonly TimeSpan DefaultKeepAlive = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A stream silent this long is taken as lost: the reader resumes on another endpoint. Five
    /// default keep-alives, so a busy node's late one is not mistaken for a dead node.
    /// </summary>
    public static readonly TimeSpan SilenceLimit = TimeSpan.FromSeconds(10);

    /// <summary>The standard request header with the id of the last event seen; the stream resumes after it.</summary>
    public const string LastEventIdHeader = "Last-Event-ID";
}
