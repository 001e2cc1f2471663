namespace Nefele.HostAgent.Engines;

/// <summary>
/// Offered by an engine that can tell which of its processes a host pid belongs to, the
/// process itself or any descendant (by its cgroup or unit, which a process cannot leave).
/// hostd uses it to identify api callers that are children of a Nefele process; without it
/// only the launched process itself is recognised.
/// </summary>
public interface IProcessOwnership
{
    /// <summary>The engine's process that host pid <paramref name="hostPid"/> lives under, or null.</summary>
    LocalProcessId? OwnerOf(int hostPid);
}
