using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Where a client-callable grain method names the tenant it acts in.</summary>
public enum TenantFrom
{
    /// <summary>The method's parameter named "tenant"; a refusal looks like "no such process" (the NPID is hidden).</summary>
    ArgumentHidingNpid,

    /// <summary>The grain's key is the tenant name.</summary>
    GrainKey,

    /// <summary>The grain's key is "tenant/…".</summary>
    GrainKeyPrefix,

    /// <summary>No tenant: cluster-wide (admin).</summary>
    Cluster,
}
