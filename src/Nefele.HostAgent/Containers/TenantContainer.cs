using System.Diagnostics;

namespace Nefele.HostAgent.Containers;

/// <summary>
/// A tenant's container on this node (one per tenant and image): a systemd-nspawn whose pid 1
/// (its leader) is the image's systemd when the image has one (booted), else nefele-pause.
/// </summary>
public sealed class TenantContainer
{
    internal TenantContainer(string name, string tenant, string imageRoot, ContainerMode mode, bool boots, string cgroup)
    {
        Name = name;
        Tenant = tenant;
        ImageRoot = imageRoot;
        Mode = mode;
        Boots = boots;
        Cgroup = cgroup;
    }

    /// <summary>Its machine name (also its host name inside), what <c>ps</c> shows.</summary>
    public string Name { get; }

    public string Tenant { get; }

    /// <summary>The unpacked image it runs from (the overlay's lower layer).</summary>
    public string ImageRoot { get; }

    public ContainerMode Mode { get; }

    /// <summary>The image has systemd, which runs as the container's pid 1.</summary>
    public bool Boots { get; }

    /// <summary>Its cgroup below each hierarchy's mount point (nspawn's payload/ and supervisor/ live under it).</summary>
    public string Cgroup { get; }

    /// <summary>pid 1 of the container, as hostd's pid namespace numbers it.</summary>
    public int LeaderPid { get; internal set; }

    /// <summary>The container's root as hostd sees it (through its leader).</summary>
    public string RootPath => $"/proc/{LeaderPid}/root";

    /// <summary>
    /// The D-Bus system bus of the container's systemd, for a booted container; else null.
    /// Not systemd's private socket (<c>/run/systemd/private</c>): systemd drops a peer whose pid
    /// its pid namespace cannot see (SO_PEERCRED carries none), which hostd's is.
    /// </summary>
    public string? BusAddress => Boots ? $"unix:path=/proc/{LeaderPid}/root/{SystemBus}" : null;

    /// <summary>The system bus socket (dbus.socket, which systemd listens on early in its boot), relative to the container's root.</summary>
    internal const string SystemBus = "run/dbus/system_bus_socket";

    /// <summary>Completes when its systemd-nspawn has exited, however it ended (set once it started).</summary>
    internal Task Exited { get; set; } = Task.CompletedTask;

    internal ContainerNamespaces? Namespaces { get; set; }

    internal Process? Nspawn { get; set; }

    internal string LogPath { get; set; } = "";

    /// <summary>Launches in flight and processes running in it.</summary>
    internal int Users { get; set; }

    internal CancellationTokenSource? Linger { get; set; }

    /// <summary>Completes when the container has started (or failed to).</summary>
    internal Task Started { get; set; } = Task.CompletedTask;

    internal bool Stopping { get; set; }

    /// <summary>The uid its tenant network was made for; null with a private network.</summary>
    internal uint? NetworkUid { get; set; }

    /// <summary>Completes once it has stopped (or its start failed).</summary>
    internal TaskCompletionSource Stopped { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
