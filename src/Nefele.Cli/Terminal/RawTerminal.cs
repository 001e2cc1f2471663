using System.Runtime.InteropServices;

namespace Nefele.Cli.Terminal;

/// <summary>
/// The local terminal of nef attach: raw mode on standard input while attached (every key, Ctrl-C
/// and Ctrl-Q included, goes to the process; nothing is echoed locally: the remote terminal echoes),
/// the settings it had restored when disposed, and the window size. termios is read and written
/// through libc directly: struct termios is opaque here (60 bytes on Linux glibc, x86_64 and
/// arm64), so a larger buffer holds it and cfmakeraw edits it.
/// </summary>
internal sealed partial class RawTerminal : IDisposable
{
    private const int TermiosBytes = 64;
    private const int TCSANOW = 0, TCSAFLUSH = 2;
    private const uint OPOST = 1, ONLCR = 4;
    private const ulong TIOCGWINSZ = 0x5413;
    private const int EINTR = 4;

    private readonly int fd;
    private readonly byte[] saved;
    private int restored;

    private RawTerminal(int fd, byte[] saved)
    {
        this.fd = fd;
        this.saved = saved;
    }

    /// <summary>Whether <paramref name="fd"/> is a terminal.</summary>
    public static bool IsTerminal(int fd) => isatty(fd) == 1;

    /// <summary>
    /// Puts terminal <paramref name="fd"/> in raw mode; with <paramref name="keepOutputNewlines"/>
    /// output processing stays on (a newline still starts a new line: for output that is not a
    /// terminal's, such as a read-only attach to a process without one).
    /// </summary>
    /// <exception cref="IOException">The terminal's settings cannot be read or set.</exception>
    public static unsafe RawTerminal Enter(int fd, bool keepOutputNewlines)
    {
        var saved = new byte[TermiosBytes];
        var raw = new byte[TermiosBytes];
        fixed (byte* s = saved)
        fixed (byte* r = raw)
        {
            if (tcgetattr(fd, s) != 0)
            {
                throw new IOException("reading the terminal's settings failed: " + Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
            }

            Buffer.MemoryCopy(s, r, TermiosBytes, TermiosBytes);
            cfmakeraw(r);
            if (keepOutputNewlines)
            {
                // c_oflag is the struct's second field.
                ((uint*)r)[1] |= OPOST | ONLCR;
            }

            if (tcsetattr(fd, TCSAFLUSH, r) != 0)
            {
                throw new IOException("setting the terminal to raw mode failed: " + Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
            }
        }

        return new RawTerminal(fd, saved);
    }

    /// <summary>The window size of terminal <paramref name="fd"/>; null when it is not a terminal or has none.</summary>
    public static unsafe (int Rows, int Columns)? Size(int fd)
    {
        var size = stackalloc ushort[4];
        return ioctl(fd, TIOCGWINSZ, size) == 0 && size[0] > 0 && size[1] > 0 ? (size[0], size[1]) : null;
    }

    /// <summary>Restores the settings the terminal had (once; safe from a signal handler's thread).</summary>
    public unsafe void Dispose()
    {
        if (Interlocked.Exchange(ref restored, 1) == 0)
        {
            fixed (byte* s = saved)
            {
                _ = tcsetattr(fd, TCSANOW, s);
            }
        }
    }

    /// <summary>read(2) on <paramref name="fd"/>, retried on EINTR: the bytes read, 0 at end of file, -1 on an error.</summary>
    public static unsafe int Read(int fd, Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
            {
                n = read(fd, p, buffer.Length);
            }

            if (n >= 0 || Marshal.GetLastPInvokeError() != EINTR)
            {
                return (int)n;
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int isatty(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int tcgetattr(int fd, byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int tcsetattr(int fd, int action, byte* termios);

    [LibraryImport("libc")]
    private static unsafe partial void cfmakeraw(byte* termios);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int ioctl(int fd, ulong request, void* arg);
}
