using System.Net.Sockets;

namespace Nefele.HostAgent;

/// <summary>Listening unix sockets with a fixed file mode, and the peer's pid (SO_PEERCRED).</summary>
internal static class UnixSockets
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    public static Socket Listen(string path, UnixFileMode mode)
    {
        // A socket file left by a hostd that died would make bind fail.
        Remove(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, mode);
            socket.Listen(64);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static void Remove(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    private const int SoPeerPidFd = 77;

    /// <summary>The pid, uid and gid of the process at the other end when it connected (struct ucred).</summary>
    public static (int Pid, uint Uid, uint Gid) PeerCredentials(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        return (BitConverter.ToInt32(ucred[..4]), BitConverter.ToUInt32(ucred[4..8]), BitConverter.ToUInt32(ucred[8..12]));
    }

    /// <summary>The pid of the process at the other end (struct ucred's first field).</summary>
    public static int PeerPid(Socket socket) => PeerCredentials(socket).Pid;

    /// <summary>
    /// A pidfd of the peer, taken by the kernel at connect (SO_PEERPIDFD, Linux 6.5): it keeps
    /// naming that process even after its pid is reused. -1 where the kernel lacks it.
    /// </summary>
    public static int PeerPidFd(Socket socket)
    {
        Span<byte> fd = stackalloc byte[4];
        try
        {
            return socket.GetRawSocketOption(SolSocket, SoPeerPidFd, fd) == 4 ? BitConverter.ToInt32(fd) : -1;
        }
        catch (SocketException)
        {
            return -1;
        }
    }
}
