using System.Text.Json.Serialization;

namespace Nefele.Client;

/// <summary>When a child that ended is restarted (OTP's restart types).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RestartType>))]
public enum RestartType
{
    /// <summary>Always.</summary>
    [JsonStringEnumMemberName("permanent")] Permanent,

    /// <summary>
    /// Only after an abnormal end: an exit code other than 0, a signal other than SIGTERM (the
    /// shutdown's own), lost with its node, or failed to start. An exit 0 or an end by SIGTERM is
    /// normal, as OTP's <c>normal</c> and <c>shutdown</c> reasons are.
    /// </summary>
    [JsonStringEnumMemberName("transient")] Transient,

    /// <summary>Never; an ended temporary child is removed (also when a sibling's restart stopped it).</summary>
    [JsonStringEnumMemberName("temporary")] Temporary,
}
