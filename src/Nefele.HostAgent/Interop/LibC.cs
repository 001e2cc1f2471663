using System.Runtime.InteropServices;

namespace Nefele.HostAgent.Interop;

/// <summary>The few libc calls .NET does not expose: per-pid waitpid, kill, access, pipe2, open.</summary>
internal static partial class LibC
{
    public const int WNOHANG = 1;
    public const int X_OK = 1;
    public const int O_RDONLY = 0;
    public const int O_CLOEXEC = 0x80000;
    public const int O_DIRECTORY = 0x10000;
    public const int O_PATH = 0x200000;
    public const int ECHILD = 10;
    public const int EINTR = 4;
    public const int ESRCH = 3;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int waitpid(int pid, out int status, int options);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int access(string path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int pipe2(int* fds, int flags);

    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SHUT_WR = 1;

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int socketpair(int domain, int type, int protocol, int* fds);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>chown(2); uint.MaxValue leaves that id unchanged.</summary>
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int chown(string path, uint owner, uint group);

    /// <summary>Changes the owner of <paramref name="path"/> (group unchanged); throws IOException naming the path.</summary>
    public static void ChownOrThrow(string path, uint owner)
    {
        if (chown(path, owner, uint.MaxValue) != 0)
        {
            throw new IOException($"chown {path} to uid {owner}: {StrError(Marshal.GetLastPInvokeError())}");
        }
    }

    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    // The wait-status macros of <sys/wait.h>.
    public static bool WIfExited(int status) => (status & 0x7f) == 0;

    public static int WExitStatus(int status) => (status >> 8) & 0xff;

    public static bool WIfSignaled(int status) => (status & 0x7f) is not 0 and not 0x7f;

    public static int WTermSig(int status) => status & 0x7f;

    public static bool WCoreDump(int status) => (status & 0x80) != 0;
}
