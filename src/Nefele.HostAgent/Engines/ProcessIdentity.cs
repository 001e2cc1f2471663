namespace Nefele.HostAgent.Engines;

/// <summary>
/// Who a process runs as and what it may use: its uid, its gid (also its only group), and the
/// resource limits set before exec. Every process also gets PR_SET_NO_NEW_PRIVS.
/// </summary>
public sealed record ProcessIdentity(uint Uid, uint Gid, IReadOnlyList<ResourceLimitValue> Limits)
{
    public bool IsRoot => Uid == 0;
}

/// <summary>One setrlimit pair; <paramref name="Resource"/> is the Linux RLIMIT_* number.</summary>
public readonly record struct ResourceLimitValue(int Resource, ulong Soft, ulong Hard);
