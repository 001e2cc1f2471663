using System.IO.Pipelines;
using System.Runtime.InteropServices;

namespace Nefele.HostAgent.Engines;

/// <summary>
/// The master side of a process's pseudo-terminal (spawn --tty). hostd keeps it for the process's
/// life: what the process shows is read from it (<see cref="Output"/>, into the process log), what an
/// attached user types is written to it (<see cref="Write"/>), and <see cref="Resize"/> sets the
/// window size (the kernel sends SIGWINCH to the terminal's foreground process group).
/// </summary>
/// <remarks>
/// One thread per terminal reads the master (a pty master cannot be waited on by the runtime's
/// socket engine); it is blocked in read(2) while the process is quiet and ends when every slave
/// descriptor is closed (read fails with EIO, which is the terminal's end of file).
/// </remarks>
public sealed partial class PseudoTerminal : IDisposable
{
    /// <summary>Rows and columns a terminal starts with until an attach sends the user's.</summary>
    public const ushort DefaultRows = 24, DefaultColumns = 80;

    private const int O_RDWR = 2, O_NOCTTY = 0x100, O_CLOEXEC = 0x80000;
    private const ulong TIOCSPTLCK = 0x40045431, TIOCGPTPEER = 0x5441, TIOCSWINSZ = 0x5414, TIOCGWINSZ = 0x5413;
    private const int EINTR = 4, EIO = 5, EAGAIN = 11;

    private readonly SafeFdHandle master;
    private readonly Pipe output = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
    private readonly Lock writeGate = new();
    private readonly SemaphoreSlim typing = new(1, 1);
    private Thread? reader;

    private PseudoTerminal(SafeFdHandle master)
    {
        this.master = master;
        Output = output.Reader.AsStream();
    }

    /// <summary>What the process writes to its terminal, until every slave descriptor is closed.</summary>
    public Stream Output { get; }

    /// <summary>
    /// A new pseudo-terminal of <paramref name="rows"/> x <paramref name="columns"/>, its slave owned by
    /// <paramref name="uid"/>/<paramref name="gid"/> (the process's identity, as login does). Returns
    /// the slave's descriptor (close-on-exec; the caller hands it to the child and closes it).
    /// </summary>
    public static PseudoTerminal Open(ushort rows, ushort columns, uint uid, uint gid, out int slave)
    {
        var fd = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"opening /dev/ptmx failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        var handle = new SafeFdHandle(fd);
        var unlock = 0;
        unsafe
        {
            // TIOCGPTPEER (Linux 4.13) opens the slave from the master itself: no path through /dev/pts to race on.
            if (ioctl(fd, TIOCSPTLCK, &unlock) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                handle.Dispose();
                throw new IOException($"unlocking the pseudo-terminal failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }
        }

        slave = ioctl(fd, TIOCGPTPEER, (nint)(O_RDWR | O_NOCTTY | O_CLOEXEC));
        if (slave < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            handle.Dispose();
            throw new IOException($"opening the pseudo-terminal's slave failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        // Best effort: a program that checks its terminal's owner (write, mesg) sees its own uid.
        _ = fchown(slave, uid, gid);
        var terminal = new PseudoTerminal(handle);
        terminal.Resize(rows, columns);
        return terminal;
    }

    /// <summary>Starts copying the master's output into <see cref="Output"/> (once the child holds the slave).</summary>
    public void StartReading(string npid)
    {
        reader = new Thread(ReadLoop) { IsBackground = true, Name = "nefele tty " + npid };
        reader.Start();
    }

    /// <summary>Types <paramref name="data"/> into the terminal (the process reads it on its stdin).</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        lock (writeGate)
        {
            var added = false;
            master.DangerousAddRef(ref added);
            try
            {
                var fd = (int)master.DangerousGetHandle();
                while (!data.IsEmpty)
                {
                    nint n;
                    unsafe
                    {
                        fixed (byte* p = data)
                        {
                            n = write(fd, p, (nint)data.Length);
                        }
                    }

                    if (n < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno is EINTR or EAGAIN)
                        {
                            continue;
                        }

                        throw new IOException($"writing to the terminal failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                    }

                    data = data[(int)n..];
                }
            }
            finally
            {
                if (added)
                {
                    master.DangerousRelease();
                }
            }
        }
    }

    /// <summary>
    /// <see cref="Write"/> off the caller's thread, in call order. A write blocks while the terminal's
    /// input queue is full (the process reads none of it): false when an earlier write is still
    /// blocked after <paramref name="wait"/>, so one stuck terminal never holds its caller.
    /// </summary>
    public async Task<bool> TypeAsync(ReadOnlyMemory<byte> data, TimeSpan wait, CancellationToken ct)
    {
        if (!await typing.WaitAsync(wait, ct).ConfigureAwait(false))
        {
            return false;
        }

        // The gate opens when this write ends, however long it blocks: later input waits its turn.
        var written = Task.Run(() => Write(data.Span), CancellationToken.None);
        _ = written.ContinueWith(static (_, gate) => ((SemaphoreSlim)gate!).Release(), typing, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await written.WaitAsync(wait, ct).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Sets the window size; the terminal's foreground process group gets SIGWINCH when it changes.</summary>
    public void Resize(ushort rows, ushort columns)
    {
        var size = new WinSize { Rows = rows, Columns = columns };
        var added = false;
        master.DangerousAddRef(ref added);
        try
        {
            unsafe
            {
                if (ioctl((int)master.DangerousGetHandle(), TIOCSWINSZ, &size) != 0)
                {
                    throw new IOException($"setting the window size failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
                }
            }
        }
        finally
        {
            if (added)
            {
                master.DangerousRelease();
            }
        }
    }

    /// <summary>The window size (rows, columns).</summary>
    public (ushort Rows, ushort Columns) Size()
    {
        var size = default(WinSize);
        unsafe
        {
            _ = ioctl((int)master.DangerousGetHandle(), TIOCGWINSZ, &size);
        }

        return (size.Rows, size.Columns);
    }

    /// <summary>Closes the master (the process, if still running, gets SIGHUP).</summary>
    public void Dispose() => master.Dispose();

    private unsafe void ReadLoop()
    {
        var fd = (int)master.DangerousGetHandle();
        var added = false;
        master.DangerousAddRef(ref added);
        Exception? failure = null;
        try
        {
            while (true)
            {
                var buffer = output.Writer.GetMemory(16 * 1024);
                nint n;
                fixed (byte* p = buffer.Span)
                {
                    n = read(fd, p, (nint)buffer.Length);
                }

                if (n < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    // EIO: no slave descriptor is left open, the terminal's end of file.
                    if (errno != EIO)
                    {
                        failure = new IOException($"reading the terminal failed: {Marshal.GetPInvokeErrorMessage(errno)}");
                    }

                    break;
                }

                if (n == 0)
                {
                    break;
                }

                output.Writer.Advance((int)n);
                var flushed = output.Writer.FlushAsync().AsTask().GetAwaiter().GetResult();
                if (flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            if (added)
            {
                master.DangerousRelease();
            }

            output.Writer.Complete(failure);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct WinSize
    {
        public ushort Rows;
        public ushort Columns;
        public ushort XPixels;
        public ushort YPixels;
    }

    private sealed class SafeFdHandle : SafeHandle
    {
        public SafeFdHandle(int fd)
            : base(-1, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle == -1;

        protected override bool ReleaseHandle() => close((int)handle) == 0;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, ulong request, nint arg);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchown(int fd, uint owner, uint group);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
