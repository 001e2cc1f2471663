using System.Runtime.InteropServices;
using Nefele.HostAgent.Interop;

namespace Nefele.HostAgent.Containers;

/// <summary>
/// Open descriptors of a running container's namespaces (its leader's /proc/&lt;pid&gt;/ns/*),
/// which the spawn library enters to start a process inside. Held as long as the container
/// runs, so a namespace cannot be recycled under a launch; closed when it has stopped.
/// </summary>
public sealed class ContainerNamespaces : IDisposable
{
    private int closed;

    private ContainerNamespaces(int pid, int mount, int uts, int ipc, int net, int cgroup)
    {
        Pid = pid;
        Mount = mount;
        Uts = uts;
        Ipc = ipc;
        Net = net;
        Cgroup = cgroup;
    }

    public int Pid { get; }

    public int Mount { get; }

    public int Uts { get; }

    public int Ipc { get; }

    public int Net { get; }

    /// <summary>-1 where the kernel has no cgroup namespaces.</summary>
    public int Cgroup { get; }

    /// <summary>Opens the namespaces of <paramref name="leaderPid"/>; throws IOException naming the one that failed.</summary>
    public static ContainerNamespaces Open(int leaderPid)
    {
        var opened = new List<int>(6);
        try
        {
            int Take(string kind, bool optional = false)
            {
                var path = $"/proc/{leaderPid}/ns/{kind}";
                var fd = LibC.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
                if (fd < 0)
                {
                    if (optional && !File.Exists(path))
                    {
                        return -1;
                    }

                    throw new IOException($"opening {path}: {LibC.StrError(Marshal.GetLastPInvokeError())}");
                }

                opened.Add(fd);
                return fd;
            }

            return new ContainerNamespaces(Take("pid"), Take("mnt"), Take("uts"), Take("ipc"), Take("net"), Take("cgroup", optional: true));
        }
        catch
        {
            foreach (var fd in opened)
            {
                LibC.close(fd);
            }

            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref closed, 1) != 0)
        {
            return;
        }

        foreach (var fd in new[] { Pid, Mount, Uts, Ipc, Net, Cgroup })
        {
            if (fd >= 0)
            {
                LibC.close(fd);
            }
        }
    }
}
