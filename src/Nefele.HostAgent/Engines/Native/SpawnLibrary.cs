using System.Runtime.InteropServices;

namespace Nefele.HostAgent.Engines.Native;

/// <summary>
/// libnefele-spawn.so, loaded from a configured path (not the loader's search path) so a node
/// runs exactly the library its operator pointed at. The child side of fork must be
/// async-signal-safe, which is why fork/exec lives in C and not here.
/// </summary>
internal sealed unsafe class SpawnLibrary : IDisposable
{
    private readonly nint handle;
    private readonly delegate* unmanaged<byte*, byte**, byte**, byte*, byte**, int, int, int, SpawnIdentity*, int*, int*, int> spawn;

    public SpawnLibrary(string path)
    {
        handle = NativeLibrary.Load(path);
        spawn = (delegate* unmanaged<byte*, byte**, byte**, byte*, byte**, int, int, int, SpawnIdentity*, int*, int*, int>)
            NativeLibrary.GetExport(handle, "nefele_spawn_process");
    }

    /// <summary>Forks and execs; returns the pid, or -1 with the failing stage and errno.</summary>
    public int Spawn(
        string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp, string? cwd,
        IReadOnlyList<string> cgroupProcsFiles, int stdinFd, int stdoutFd, int stderrFd,
        ProcessIdentity identity, out int errStage, out int errNo)
    {
        var allocations = new List<nint>();
        try
        {
            var pathPtr = Utf8(path, allocations);
            var argvPtr = Utf8Array(argv, allocations);
            var envPtr = Utf8Array(envp, allocations);
            var cwdPtr = cwd is null ? null : Utf8(cwd, allocations);
            var cgPtr = cgroupProcsFiles.Count == 0 ? null : Utf8Array(cgroupProcsFiles, allocations);
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
            };
            int stage = 0, err = 0;
            var pid = spawn(pathPtr, argvPtr, envPtr, cwdPtr, cgPtr, stdinFd, stdoutFd, stderrFd, &id, &stage, &err);
            errStage = stage;
            errNo = err;
            return pid;
        }
        finally
        {
            foreach (var p in allocations)
            {
                Marshal.FreeCoTaskMem(p);
            }
        }
    }

    private static byte* Utf8(string s, List<nint> allocations)
    {
        var p = Marshal.StringToCoTaskMemUTF8(s);
        allocations.Add(p);
        return (byte*)p;
    }

    private static byte** Utf8Array(IReadOnlyList<string> items, List<nint> allocations)
    {
        var array = (byte**)Marshal.AllocCoTaskMem((items.Count + 1) * sizeof(nint));
        allocations.Add((nint)array);
        for (var i = 0; i < items.Count; i++)
        {
            array[i] = Utf8(items[i], allocations);
        }

        array[items.Count] = null;
        return array;
    }

    public void Dispose() => NativeLibrary.Free(handle);

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
    }
}
