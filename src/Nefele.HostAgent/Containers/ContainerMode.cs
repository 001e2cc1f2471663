namespace Nefele.HostAgent.Containers;

/// <summary>How a tenant container's root (its image) may change (the paper's modes, section 3.1).</summary>
public enum ContainerMode
{
    /// <summary>The image root is read-only: nothing a process writes outside /shared and the tmpfs dirs survives.</summary>
    Production,

    /// <summary>The image root is an overlay whose upper dir is kept per tenant and image on the node, so changes persist across container restarts.</summary>
    Development,
}
