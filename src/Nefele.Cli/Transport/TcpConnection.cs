using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Nefele.Cli.Transport;

/// <summary>
/// A TCP connection made and used with libc's socket calls, blocking, on the calling thread (for
/// <see cref="PlainHttpExchange"/>). System.Net.Sockets' <see cref="Socket"/> starts its event
/// thread (an epoll set and a ".NET Sockets" thread) when the first socket is made, even one used
/// only synchronously: a thread a one-request command never needs. Failures are
/// <see cref="IOException"/>s whose <see cref="Exception.HResult"/> is the errno.
/// </summary>
internal sealed partial class TcpConnection : IDisposable
{
    private const int AF_INET = 2;
    private const int AF_INET6 = 10;
    private const int SOCK_STREAM = 1;
    private const int SOCK_CLOEXEC = 0x80000;
    private const int SOL_SOCKET = 1;
    private const int SO_SNDTIMEO = 21;
    private const int IPPROTO_TCP = 6;
    private const int TCP_NODELAY = 1;
    private const int MSG_NOSIGNAL = 0x4000;
    private const int SHUT_RDWR = 2;
    private const int EINTR = 4;

    /// <summary>What connect(2) answers when SO_SNDTIMEO ran out before the connection was made.</summary>
    public const int EINPROGRESS = 115;

    public const int ETIMEDOUT = 110;

    private readonly int fd;
    private int closed;

    private TcpConnection(int fd) => this.fd = fd;

    /// <summary>Connects, giving up after <paramref name="timeout"/> (errno EINPROGRESS).</summary>
    public static unsafe TcpConnection Connect(IPAddress address, int port, TimeSpan timeout)
    {
        var v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        var fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Error("socket");
        }

        var connection = new TcpConnection(fd);
        try
        {
            // SO_SNDTIMEO bounds a blocking connect on Linux; it is cleared once connected, so a send
            // waits as long as it needs (as HttpClient's do).
            var limit = new Timeval { Seconds = (long)timeout.TotalSeconds, Microseconds = (long)(timeout.TotalMicroseconds % 1_000_000) };
            var none = default(Timeval);
            var one = 1;
            Check(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, (uint)sizeof(Timeval)), "setsockopt");
            Check(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int)), "setsockopt");

            // struct sockaddr_in / sockaddr_in6: family (host order), port (network order), then the address.
            Span<byte> sockaddr = stackalloc byte[28];
            sockaddr.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(sockaddr, (ushort)(v6 ? AF_INET6 : AF_INET));
            BinaryPrimitives.WriteUInt16BigEndian(sockaddr[2..], (ushort)port);
            if (v6)
            {
                address.TryWriteBytes(sockaddr.Slice(8, 16), out _);
                BinaryPrimitives.WriteUInt32LittleEndian(sockaddr[24..], (uint)address.ScopeId);
            }
            else
            {
                address.TryWriteBytes(sockaddr.Slice(4, 4), out _);
            }

            fixed (byte* bytes = sockaddr)
            {
                Check(connect(fd, bytes, v6 ? 28u : 16u), "connect");
            }

            Check(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, (uint)sizeof(Timeval)), "setsockopt");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public unsafe void SendAll(ReadOnlySpan<byte> data)
    {
        fixed (byte* bytes = data)
        {
            for (var sent = 0; sent < data.Length;)
            {
                var n = send(fd, bytes + sent, (nuint)(data.Length - sent), MSG_NOSIGNAL);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR)
                    {
                        continue;
                    }

                    throw Error("send");
                }

                sent += (int)n;
            }
        }
    }

    /// <summary>Reads what has arrived (waiting for some); 0 at the end of the connection.</summary>
    public unsafe int Receive(Span<byte> buffer)
    {
        fixed (byte* bytes = buffer)
        {
            while (true)
            {
                var n = recv(fd, bytes, (nuint)buffer.Length, 0);
                if (n >= 0)
                {
                    return (int)n;
                }

                if (Marshal.GetLastPInvokeError() != EINTR)
                {
                    throw Error("recv");
                }
            }
        }
    }

    /// <summary>Ends both directions: a send or receive blocked on another thread returns at once.</summary>
    public void Shutdown()
    {
        if (Volatile.Read(ref closed) == 0)
        {
            _ = shutdown(fd, SHUT_RDWR);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref closed, 1) == 0)
        {
            _ = close(fd);
        }
    }

    private static void Check(int result, string call)
    {
        if (result < 0)
        {
            throw Error(call);
        }
    }

    private static IOException Error(string call)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{Marshal.GetPInvokeErrorMessage(errno)} ({call})", errno);
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    private static unsafe partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static unsafe partial int connect(int fd, byte* address, uint length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    private static unsafe partial nint send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    private static unsafe partial nint recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    private static partial int shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timeval
    {
        public long Seconds;
        public long Microseconds;
    }
}
