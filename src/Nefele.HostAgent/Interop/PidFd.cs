using System.Runtime.InteropServices;

namespace Nefele.HostAgent.Interop;

/// <summary>
/// pidfds (Linux 5.3): a descriptor that names one process for good, so a check made through
/// /proc/&lt;pid&gt; can be confirmed to be about that process and not a later one with its pid.
/// </summary>
internal static partial class PidFd
{
    private const long SysPidfdSendSignal = 424;
    private const long SysPidfdOpen = 434;

    /// <summary>A pidfd of <paramref name="pid"/>, or -1 (no such process, or the kernel lacks pidfds).</summary>
    public static int Open(int pid) => pid > 0 ? (int)syscall(SysPidfdOpen, pid, 0, 0, 0) : -1;

    /// <summary>The process the pidfd names has not exited. False for -1.</summary>
    public static bool Alive(int pidfd) => pidfd >= 0 && syscall(SysPidfdSendSignal, pidfd, 0, 0, 0) == 0;

    public static void Close(int pidfd)
    {
        if (pidfd >= 0)
        {
            LibC.close(pidfd);
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial long syscall(long number, long a, long b, long c, long d);
}
