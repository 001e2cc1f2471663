namespace Nefele.HostAgent.Processes;

/// <summary>The Nefele process an api socket connection speaks for, and its tenant.</summary>
internal sealed record CallerIdentity(string Npid, string Tenant);
