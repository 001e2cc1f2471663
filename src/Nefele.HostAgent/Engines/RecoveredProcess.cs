using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Engines;

/// <summary>
/// A process a previous hostd started that the engine adopted at start-up, with what hostd
/// reports about it again (the systemd engine keeps these in the unit: its name, Description
/// or environment). <see cref="StartedProcess.Output"/> may be a fresh stream from the point of adoption.
/// </summary>
/// <param name="Spec">The spec it was launched with when the engine kept it; null when unknown.</param>
public sealed record RecoveredProcess(StartedProcess Process, string Npid, string Tenant, uint Uid, uint Gid, ProcessSpec? Spec = null);
