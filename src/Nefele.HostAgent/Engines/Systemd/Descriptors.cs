using System.Runtime.InteropServices;

namespace Nefele.HostAgent.Engines.Systemd;

internal static partial class Descriptors
{
    private const int F_DUPFD_CLOEXEC = 1030;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    /// <summary>A close-on-exec copy of <paramref name="fd"/>, or -1.</summary>
    public static int Duplicate(int fd) => fcntl(fd, F_DUPFD_CLOEXEC, 3);
}
