using System.Text.Json.Serialization;

namespace Nefele.Client;

/// <summary>What a supervisor restarts when one of its children ends and is to be restarted (OTP's strategies).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SupervisorStrategy>))]
public enum SupervisorStrategy
{
    /// <summary>Only the child that ended.</summary>
    [JsonStringEnumMemberName("one_for_one")] OneForOne,

    /// <summary>Every child: the others are stopped in reverse order, then all start again in order.</summary>
    [JsonStringEnumMemberName("one_for_all")] OneForAll,

    /// <summary>The child that ended and those declared after it: those are stopped in reverse order, then all start again in order.</summary>
    [JsonStringEnumMemberName("rest_for_one")] RestForOne,

    /// <summary>A pool of identical children from one template, resizable while it runs; each is restarted on its own.</summary>
    [JsonStringEnumMemberName("simple_one_for_one")] SimpleOneForOne,
}
