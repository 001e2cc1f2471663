using System.Runtime.InteropServices;
using Nefele.HostAgent.Engines;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// The resource limits a process starts with: the launch's own, else the node defaults
/// (<see cref="HostAgentOptions.RlimitNofile"/>, <see cref="HostAgentOptions.RlimitNproc"/>,
/// <see cref="HostAgentOptions.RlimitCore"/>), each capped at hostd's own hard limit, which a
/// process cannot be given more than.
/// </summary>
internal sealed partial class ResourceLimits
{
    // <sys/resource.h> on Linux.
    private const int RlimitCore = 4;
    private const int RlimitNproc = 6;
    private const int RlimitNofile = 7;
    private const ulong Infinity = ulong.MaxValue;

    private readonly Dictionary<RlimitResource, ResourceLimitValue> defaults = [];

    public ResourceLimits(HostAgentOptions options)
    {
        Add(RlimitResource.Nofile, (ulong)options.RlimitNofile, (ulong)options.RlimitNofile);
        Add(RlimitResource.Nproc, (ulong)options.RlimitNproc, (ulong)options.RlimitNproc);
        Add(RlimitResource.Core, (ulong)options.RlimitCore, (ulong)options.RlimitCore);
    }

    /// <summary>The limits for <paramref name="request"/>, or an error naming what is wrong with the ones it carries.</summary>
    public (IReadOnlyList<ResourceLimitValue>? Limits, string? Error) For(LaunchRequest request)
    {
        var chosen = new Dictionary<RlimitResource, ResourceLimitValue>(defaults);
        foreach (var limit in request.Rlimits)
        {
            if (!defaults.ContainsKey(limit.Resource))
            {
                return (null, $"spawn rejected: resource limit {limit.Resource} is not one hostd sets (allowed: NOFILE, NPROC, CORE)");
            }

            if (limit.Soft > limit.Hard)
            {
                return (null, $"spawn rejected: resource limit {limit.Resource}: soft {limit.Soft} exceeds hard {limit.Hard}");
            }

            chosen[limit.Resource] = Capped(Number(limit.Resource), limit.Soft, limit.Hard);
        }

        // Root is not held to RLIMIT_NPROC by the kernel; a privileged tenant keeps the others.
        if (request.Uid == 0)
        {
            chosen.Remove(RlimitResource.Nproc);
        }

        return ([.. chosen.Values], null);
    }

    private void Add(RlimitResource resource, ulong soft, ulong hard) =>
        defaults[resource] = Capped(Number(resource), soft, hard);

    private static int Number(RlimitResource resource) => resource switch
    {
        RlimitResource.Nofile => RlimitNofile,
        RlimitResource.Nproc => RlimitNproc,
        RlimitResource.Core => RlimitCore,
        _ => throw new ArgumentOutOfRangeException(nameof(resource)),
    };

    private static ResourceLimitValue Capped(int resource, ulong soft, ulong hard)
    {
        var own = Own(resource);
        hard = Math.Min(hard, own);
        return new ResourceLimitValue(resource, Math.Min(soft, hard), hard);
    }

    /// <summary>hostd's own hard limit: without CAP_SYS_RESOURCE nobody can raise a child above it.</summary>
    private static unsafe ulong Own(int resource)
    {
        var pair = stackalloc ulong[2];
        return getrlimit(resource, pair) == 0 ? pair[1] : Infinity;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int getrlimit(int resource, ulong* rlim);
}
