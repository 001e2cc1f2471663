using System.Text.Json.Serialization;

namespace Nefele.Client;

/// <summary>Where a supervisor is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SupervisorPhase>))]
public enum SupervisorPhase
{
    /// <summary>Its children are starting in order.</summary>
    [JsonStringEnumMemberName("starting")] Starting,

    /// <summary>It supervises its children.</summary>
    [JsonStringEnumMemberName("running")] Running,

    /// <summary>It stopped its children and ended: it reached its restart intensity, or a child failed to start (see the end reason).</summary>
    [JsonStringEnumMemberName("ended")] Ended,
}
