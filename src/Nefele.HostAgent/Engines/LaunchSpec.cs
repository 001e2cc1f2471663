using Nefele.HostAgent.Cgroups;

namespace Nefele.HostAgent.Engines;

/// <summary>Everything an engine needs to start one process; env is final (hostd's variables added).</summary>
/// <param name="Arguments">argv[1..]; argv[0] is <paramref name="Path"/>.</param>
public sealed record LaunchSpec(
    string Npid,
    string Tenant,
    string Path,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    CgroupLimits Limits,
    ProcessIdentity Identity);
