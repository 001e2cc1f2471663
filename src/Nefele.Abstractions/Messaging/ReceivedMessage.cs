using Nefele.Client;

namespace Nefele.Messaging;

/// <summary>A message taken from an external mailbox, with how many stay queued after it.</summary>
[GenerateSerializer, Immutable]
public sealed record ReceivedMessage([property: Id(0)] NefeleMessage Message, [property: Id(1)] int Remaining);
