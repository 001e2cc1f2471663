using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// The secret every silo of the cluster holds and no client does: grain calls made by the
/// silos' own code carry it (<see cref="CallCredentials.System"/>), so the call filter can tell
/// them from client calls, which must carry an API key. One node makes it at random; a cluster
/// shares one through its Redis, which is inside the cluster's trust boundary anyway (it holds
/// every grain's state).
/// </summary>
public sealed class ClusterSecret(string value)
{
    public string Value { get; } = value;

    public static ClusterSecret Random() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));

    /// <summary>
    /// In constant time, without allocating (every grain call is checked). Within a silo the
    /// stamp is this very string, which no peer can hand over, so that is taken at once.
    /// </summary>
    public bool Matches(string? candidate) =>
        candidate is not null && (ReferenceEquals(candidate, Value)
            || CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(candidate.AsSpan()), MemoryMarshal.AsBytes(Value.AsSpan())));
}
