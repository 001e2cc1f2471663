using System.Diagnostics;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Logs;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Processes;

/// <summary>One process hostd launched, from launch until its exit is acknowledged. Guarded by the supervisor's lock.</summary>
internal sealed class TrackedProcess(string npid, string tenant, ProcessSpec spec, string? token, ProcessIdentity identity)
{
    public string Npid { get; } = npid;

    public string Tenant { get; } = tenant;

    public ProcessSpec Spec { get; } = spec;

    /// <summary>The tenant container it runs in; null on the host.</summary>
    public string? Container { get; set; }

    /// <summary>The image root it was launched from, leased from the image cache until the process is forgotten.</summary>
    public string? ImageRoot { get; set; }

    /// <summary>The uid, gid and limits it runs with.</summary>
    public ProcessIdentity Identity { get; } = identity;

    /// <summary>Single-use launch token; null for no_handshake launches.</summary>
    public string? Token { get; } = token;

    /// <summary>Set once exec succeeded (or failed): a handshake may arrive before the spawn call returns.</summary>
    public TaskCompletionSource<int> Spawned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The LaunchReply, once known.</summary>
    public TaskCompletionSource<LaunchReply> Launch { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The connections (and request ids) waiting for the LaunchReply; emptied when it is decided.</summary>
    public List<(IControlConnection Connection, ulong RequestId)> Waiters { get; } = [];

    /// <summary>The engine's id for it, once started.</summary>
    public LocalProcessId? Id { get; set; }

    /// <summary>Its pid in hostd's pid namespace, once started (the handshake's SO_PEERCRED pid).</summary>
    public int Pid { get; set; }

    public long StartedUnixMs { get; set; }

    public bool Running { get; set; }

    /// <summary>The LaunchReply was handed to the control connection; exits may follow it.</summary>
    public bool LaunchReported { get; set; }

    public string? RefusalReason { get; set; }

    public ProcessExited? Exit { get; set; }

    public ProcessLog? Log { get; set; }

    /// <summary>hostd's span of the launch, from the request to its decided reply; null when nothing traces.</summary>
    public Activity? LaunchSpan { get; set; }

    /// <summary>From the start of the program to its shim's hello (or the launch's failure).</summary>
    public Activity? HandshakeSpan { get; set; }

    /// <summary>The trace the process belongs to: its launch span's, else the silo's that asked for it (default: none).</summary>
    public ActivityContext Trace { get; set; }

    /// <summary>The master of its pseudo-terminal (spawn --tty), from start until its exit; null without one.</summary>
    public PseudoTerminal? Terminal { get; set; }

    public LocalProcess ToLocalProcess() => new()
    {
        Npid = Npid,
        Tenant = Tenant,
        Pid = Pid,
        Spec = Spec,
        StartedUnixMs = StartedUnixMs,
        Running = Running,
    };
}
