namespace Nefele.Retention;

/// <summary>A record kept until retention collects it: an NPID or a spawn request id, and when it was retained.</summary>
[GenerateSerializer, Immutable]
public readonly record struct Retained([property: Id(0)] string Id, [property: Id(1)] DateTimeOffset At);
