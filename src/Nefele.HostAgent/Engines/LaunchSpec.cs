using Nefele.HostAgent.Cgroups;

namespace Nefele.HostAgent.Engines;

/// <summary>Everything an engine needs to start one process; env is final (hostd's variables added).</summary>
/// <param name="Arguments">argv[1..]; argv[0] is <paramref name="Path"/>.</param>
/// <param name="ImageRoot">The unpacked root filesystem of the image it runs from; null for none (the node's own).</param>
public sealed record LaunchSpec(
    string Npid,
    string Tenant,
    string Path,
    IReadOnlyList<string> Arguments,
    IReadOnlyDictionary<string, string> Environment,
    string WorkingDirectory,
    CgroupLimits Limits,
    ProcessIdentity Identity,
    string? ImageRoot = null);
