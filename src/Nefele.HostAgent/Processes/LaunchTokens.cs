using System.Security.Cryptography;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// The single-use launch tokens: issued with a launch, claimed once by the hello of the process
/// they were issued to, and remembered once used so a replay is refused as such. Guarded by
/// the supervisor's lock.
/// </summary>
internal sealed class LaunchTokens
{
    private readonly Dictionary<string, TrackedProcess> live = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    /// <summary>A fresh 128-bit token, hex.</summary>
    public static string Create() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public void Add(string token, TrackedProcess owner) => live[token] = owner;

    /// <summary>The launch the token was issued to, while it is still unclaimed.</summary>
    public TrackedProcess? Owner(string token) => live.GetValueOrDefault(token);

    /// <summary>The token is spent (claimed, or its launch ended): a later hello with it is refused as already used.</summary>
    public void Retire(string token)
    {
        live.Remove(token);
        used.Add(token);
    }

    /// <summary>The launch never ran (exec failed): the token was never seen by any process.</summary>
    public void Drop(string token) => live.Remove(token);

    /// <summary>Why a hello with <paramref name="token"/> is refused.</summary>
    public string RefusalReason(string token) =>
        live.ContainsKey(token) ? "launch token belongs to another process"
        : used.Contains(token) ? "launch token already used"
        : "unknown launch token";
}
