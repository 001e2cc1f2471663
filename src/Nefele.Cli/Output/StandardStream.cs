using System.Runtime.InteropServices;

namespace Nefele.Cli.Output;

/// <summary>
/// Standard output or standard error as a stream whose writes, async ones included, are write(2)
/// calls on the calling thread. The console's own stream sets up the terminal and a signal thread
/// on its first write and runs each async write on a thread-pool thread it has to start first: a
/// third of a quick command's CPU (measured with perf on nef --version). Like that stream, it drops
/// what is written after the reader went away (EPIPE, e.g. <c>nef ps | head -1</c>) instead of failing.
/// </summary>
internal sealed partial class StandardStream : Stream
{
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int EPIPE = 32;
    private const short POLLOUT = 4;

    private readonly int fd;
    private bool readerGone;

    private StandardStream(int fd) => this.fd = fd;

    public static StandardStream Output { get; } = new(1);

    public static StandardStream Error { get; } = new(2);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override unsafe void Write(ReadOnlySpan<byte> buffer)
    {
        while (buffer.Length > 0 && !readerGone)
        {
            nint written;
            fixed (byte* bytes = buffer)
            {
                written = write(fd, bytes, (nuint)buffer.Length);
            }

            if (written >= 0)
            {
                buffer = buffer[(int)written..];
                continue;
            }

            switch (Marshal.GetLastPInvokeError())
            {
                case EINTR:
                    continue;
                case EPIPE:
                    readerGone = true;
                    return;
                case EAGAIN:
                    // A descriptor another program left non-blocking (a shared terminal): wait until it takes more.
                    var wait = new PollFd { Fd = fd, Events = POLLOUT };
                    poll(&wait, 1, -1);
                    continue;
                case var errno:
                    throw new IOException($"cannot write to {(fd == 1 ? "standard output" : "standard error")}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int poll(PollFd* fds, nuint count, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
