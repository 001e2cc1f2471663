using System.Runtime.InteropServices;

namespace Nefele.Bench;

internal static partial class Libc
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
