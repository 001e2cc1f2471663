using System.Text.Json.Serialization;

namespace Nefele.Client;

/// <summary>Where a supervisor's child is.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChildPhase>))]
public enum ChildPhase
{
    /// <summary>It runs (its NPID, or its supervisor's name, is known).</summary>
    [JsonStringEnumMemberName("running")] Running,

    /// <summary>It is being stopped and started again.</summary>
    [JsonStringEnumMemberName("restarting")] Restarting,

    /// <summary>It is being stopped and will not start again (a temporary child stopped by a sibling's restart, a pool shrinking).</summary>
    [JsonStringEnumMemberName("stopping")] Stopping,

    /// <summary>It ended and is not restarted (a transient child that ended normally, a temporary one, or the supervisor ended).</summary>
    [JsonStringEnumMemberName("ended")] Ended,
}
