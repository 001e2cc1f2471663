using Orleans.Runtime;
using Nefele.Client;

namespace Nefele.Errors;

/// <summary>Failures of the cluster (a silo died, a message was dropped), not of the request: worth one more try.</summary>
public static class Transient
{
    public static bool Is(Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or Orleans.Runtime.Messaging.ConnectionFailedException
            or Orleans.Storage.InconsistentStateException;
}
