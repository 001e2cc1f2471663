using System.Runtime.InteropServices;
using System.Text;
using Nefele.HostAgent.Containers;

namespace Nefele.HostAgent.Engines.Native;

/// <summary>
/// libnefele-spawn.so, loaded from a configured path (not the loader's search path) so a node
/// runs exactly the library its operator pointed at. The child side of fork must be
/// async-signal-safe, which is why fork/exec lives in C and not here.
/// </summary>
internal sealed unsafe class SpawnLibrary : IDisposable
{
    private readonly nint handle;
    private readonly delegate* unmanaged<byte*, byte**, byte**, byte*, byte**, int, int, int, int, SpawnIdentity*, SpawnNamespaces*, int*, int*, int*, int> spawn;

    public SpawnLibrary(string path)
    {
        handle = NativeLibrary.Load(path);
        spawn = (delegate* unmanaged<byte*, byte**, byte**, byte*, byte**, int, int, int, int, SpawnIdentity*, SpawnNamespaces*, int*, int*, int*, int>)
            NativeLibrary.GetExport(handle, "nefele_spawn_process_in");
    }

    /// <summary>
    /// Forks and execs; returns the pid and a pidfd of it (-1 without kernel support), or -1
    /// with the failing stage and errno. argv[0] is <paramref name="path"/>. The child joins
    /// <paramref name="cgroupProcsFiles"/> (v1) before exec, or is created in the cgroup v2
    /// directory <paramref name="cgroupFd"/> (-1: none). With <paramref name="namespaces"/> it
    /// is created in a container's pid namespace and enters its other namespaces before exec.
    /// </summary>
    public int Spawn(
        string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env, string? cwd,
        IReadOnlyList<string> cgroupProcsFiles, int cgroupFd, int stdinFd, int stdoutFd, int stderrFd,
        ProcessIdentity identity, out int pidfd, out int errStage, out int errNo) =>
        Spawn(path, args, env, cwd, cgroupProcsFiles, cgroupFd, stdinFd, stdoutFd, stderrFd, identity, null, out pidfd, out errStage, out errNo);

    /// <summary>As the other overload; with <paramref name="root"/>, the child runs in that root filesystem (see <see cref="SpawnRoot"/>); with <paramref name="namespaces"/>, in a container's namespaces.</summary>
    public int Spawn(
        string path, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env, string? cwd,
        IReadOnlyList<string> cgroupProcsFiles, int cgroupFd, int stdinFd, int stdoutFd, int stderrFd,
        ProcessIdentity identity, SpawnRoot? root, out int pidfd, out int errStage, out int errNo, ContainerNamespaces? namespaces = null)
    {
        // One native block for every string and pointer array of the call: the pointer arrays
        // first (argv, envp, cgroup files, root binds, each NULL-terminated), then the NUL-terminated bytes.
        var binds = root?.Binds ?? [];
        var pointers = (1 + args.Count + 1) + (env.Count + 1) + (cgroupProcsFiles.Count + 1) + (2 * binds.Count + 1);
        long bytes = Size(path) + (cwd is null ? 0 : Size(cwd));
        if (root is not null)
        {
            bytes += Size(root.Path) + (root.Tmpfs is null ? 0 : Size(root.Tmpfs));
            foreach (var (source, target) in binds)
            {
                bytes += Size(source) + Size(target);
            }
        }
        foreach (var a in args)
        {
            bytes += Size(a);
        }

        foreach (var (key, value) in env)
        {
            bytes += Encoding.UTF8.GetByteCount(key) + 1 + Size(value);
        }

        foreach (var f in cgroupProcsFiles)
        {
            bytes += Size(f);
        }

        var block = (byte*)NativeMemory.Alloc((nuint)(pointers * sizeof(nint) + bytes));
        try
        {
            var argv = (byte**)block;
            var envp = argv + args.Count + 2;
            var cgroups = envp + env.Count + 1;
            var bindPointers = cgroups + cgroupProcsFiles.Count + 1;
            var text = new Writer(block + (pointers * sizeof(nint)));
            var pathPtr = text.Put(path);
            var cwdPtr = cwd is null ? null : text.Put(cwd);
            argv[0] = pathPtr;
            for (var i = 0; i < args.Count; i++)
            {
                argv[i + 1] = text.Put(args[i]);
            }

            argv[args.Count + 1] = null;
            var e = 0;
            foreach (var (key, value) in env)
            {
                envp[e++] = text.Put(key, value);
            }

            envp[e] = null;
            for (var i = 0; i < cgroupProcsFiles.Count; i++)
            {
                cgroups[i] = text.Put(cgroupProcsFiles[i]);
            }

            cgroups[cgroupProcsFiles.Count] = null;
            for (var i = 0; i < binds.Count; i++)
            {
                bindPointers[2 * i] = text.Put(binds[i].Source);
                bindPointers[(2 * i) + 1] = text.Put(binds[i].Target);
            }

            bindPointers[2 * binds.Count] = null;
            var rootSpec = new SpawnRootNative
            {
                Path = root is null ? null : text.Put(root.Path),
                Binds = bindPointers,
                Tmpfs = root?.Tmpfs is { } tmpfs ? text.Put(tmpfs) : null,
            };

            var limits = stackalloc SpawnRlimit[Math.Max(1, identity.Limits.Count)];
            for (var i = 0; i < identity.Limits.Count; i++)
            {
                limits[i] = new SpawnRlimit { Resource = identity.Limits[i].Resource, Soft = identity.Limits[i].Soft, Hard = identity.Limits[i].Hard };
            }

            var id = new SpawnIdentity
            {
                SetIds = 1,
                Uid = identity.Uid,
                Gid = identity.Gid,
                NoNewPrivs = 1,
                Rlimits = limits,
                RlimitCount = (uint)identity.Limits.Count,
                Root = root is null ? null : &rootSpec,
            };
            var ns = namespaces is null ? default : new SpawnNamespaces
            {
                Pid = namespaces.Pid,
                Mnt = namespaces.Mount,
                Uts = namespaces.Uts,
                Ipc = namespaces.Ipc,
                Net = namespaces.Net,
                Cgroup = namespaces.Cgroup,
            };
            int stage = 0, err = 0, fd = -1;
            var pid = spawn(pathPtr, argv, envp, cwdPtr, cgroupProcsFiles.Count == 0 ? null : cgroups, cgroupFd,
                stdinFd, stdoutFd, stderrFd, &id, namespaces is null ? null : &ns, &fd, &stage, &err);
            pidfd = fd;
            errStage = stage;
            errNo = err;
            return pid;
        }
        finally
        {
            NativeMemory.Free(block);
        }
    }

    private static long Size(string s) => Encoding.UTF8.GetByteCount(s) + 1;

    public void Dispose() => NativeLibrary.Free(handle);

    /// <summary>Lays NUL-terminated UTF-8 strings one after another in the call's block.</summary>
    private struct Writer(byte* start)
    {
        private byte* next = start;

        public byte* Put(string s)
        {
            var at = next;
            next += Encoding.UTF8.GetBytes(s, new Span<byte>(next, int.MaxValue));
            *next++ = 0;
            return at;
        }

        /// <summary>"key=value".</summary>
        public byte* Put(string key, string value)
        {
            var at = next;
            next += Encoding.UTF8.GetBytes(key, new Span<byte>(next, int.MaxValue));
            *next++ = (byte)'=';
            Put(value);
            return at;
        }
    }

    // struct nefele_spawn_rlimit and struct nefele_spawn_identity of nefele_spawn.h.
    [StructLayout(LayoutKind.Sequential)]
    private struct SpawnRlimit
    {
        public int Resource;
        public ulong Soft;
        public ulong Hard;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SpawnIdentity
    {
        public int SetIds;
        public uint Uid;
        public uint Gid;
        public int NoNewPrivs;
        public SpawnRlimit* Rlimits;
        public uint RlimitCount;
        public SpawnRootNative* Root;
    }

    // struct nefele_spawn_root of nefele_spawn.h.
    [StructLayout(LayoutKind.Sequential)]
    private struct SpawnRootNative
    {
        public byte* Path;
        public byte** Binds;
        public byte* Tmpfs;
    }

    // struct nefele_spawn_namespaces of nefele_spawn.h.
    [StructLayout(LayoutKind.Sequential)]
    private struct SpawnNamespaces
    {
        public int Pid;
        public int Mnt;
        public int Uts;
        public int Ipc;
        public int Net;
        public int Cgroup;
    }
}
