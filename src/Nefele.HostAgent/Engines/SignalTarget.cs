namespace Nefele.HostAgent.Engines;

/// <summary>Which tasks of a process a signal reaches.</summary>
public enum SignalTarget
{
    /// <summary>The process itself, not the children it forked.</summary>
    MainProcess,

    /// <summary>The process and everything in its cgroup or unit (systemd's KillUnit "all").</summary>
    All,
}
