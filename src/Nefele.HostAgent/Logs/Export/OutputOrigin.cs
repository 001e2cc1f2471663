using System.Diagnostics;

namespace Nefele.HostAgent.Logs.Export;

/// <summary>Whose output an exported record is: the process and the node, fixed for the process's life.</summary>
/// <param name="Name">The name the process is known by in its tenant; empty when it has none.</param>
/// <param name="Executable">The program's file name.</param>
/// <param name="Trace">The process's spawn trace context (its TRACEPARENT); default when there is none.</param>
public sealed record OutputOrigin(string Npid, string Tenant, string Name, string Executable, string Node, int Pid, ActivityContext Trace);
