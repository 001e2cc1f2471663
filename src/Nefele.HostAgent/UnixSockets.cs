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

    /// <summary>The pid of the process at the other end (struct ucred's first field).</summary>
    public static int PeerPid(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        return BitConverter.ToInt32(ucred[..4]);
    }
}
