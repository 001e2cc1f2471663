using System.Net.Sockets;
using Nefele.HostAgent.Messaging;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Shim;

/// <summary>
/// The write side of one api socket connection. An answer is written by the thread that has it
/// (the reader of a request, or the sender whose message fills a waiting receive), straight into
/// the socket when nothing is queued ahead of it: a unix socket takes it without blocking while its
/// buffer has room. Only when the peer is not reading fast enough are answers queued and written
/// asynchronously, so no thread ever blocks on a slow peer. While the reader works through
/// several requests that came in one receive (a pipelining client), answers are held and leave
/// together in one write when it is done (<see cref="Hold"/>, <see cref="Flush"/>).
/// </summary>
internal sealed class ApiConnection(Socket socket) : IReplySink
{
    // A peer that stops reading its answers is cut off once this much waits for it (the largest
    // answer, a received message, is a little over 1 MiB).
    private const long MaxBacklogBytes = 64L << 20;

    // Held answers leave early once they add up to this much (received messages can be large).
    private const long MaxHeldBytes = 256L << 10;

    private readonly Lock gate = new();
    private readonly Queue<byte[]> backlog = new();
    private long backlogBytes;
    private bool writing;
    private bool held;
    private volatile bool closed;

    public bool IsOpen => !closed;

    public void Send(ProcResponse response)
    {
        var frame = FrameCodec.Encode(response);
        var flushHeld = false;
        lock (gate)
        {
            if (closed)
            {
                return;
            }

            if (writing)
            {
                backlogBytes += frame.Length;
                if (backlogBytes > MaxBacklogBytes)
                {
                    CloseLocked();
                    return;
                }

                backlog.Enqueue(frame);
                flushHeld = held && backlogBytes >= MaxHeldBytes;
                if (!flushHeld)
                {
                    return;
                }
            }
            else
            {
                writing = true;
            }
        }

        if (flushHeld)
        {
            // Held answers grew large: they go now, and the rest of the batch follows them.
            Flush();
            return;
        }

        var sent = SendNow(frame, 0);
        if (sent < 0)
        {
            Close();
        }
        else if (sent < frame.Length)
        {
            _ = DrainAsync(frame, sent);
        }
        else
        {
            lock (gate)
            {
                if (backlog.Count == 0)
                {
                    writing = false;
                    return;
                }
            }

            _ = DrainAsync(null, 0);
        }
    }

    /// <summary>Holds answers back until <see cref="Flush"/> (unless a write is under way, which takes them anyway).</summary>
    public void Hold()
    {
        lock (gate)
        {
            if (!writing && !closed)
            {
                writing = true;
                held = true;
            }
        }
    }

    /// <summary>Writes the answers held since <see cref="Hold"/>, all in one write.</summary>
    public void Flush()
    {
        byte[] frames;
        lock (gate)
        {
            if (!held)
            {
                return;
            }

            held = false;
            if (closed || backlog.Count == 0)
            {
                writing = false;
                return;
            }

            frames = backlog.Count == 1 ? backlog.Dequeue() : Concatenate();
            backlog.Clear();
            backlogBytes = 0;
        }

        var sent = SendNow(frames, 0);
        if (sent < 0)
        {
            Close();
        }
        else
        {
            // Whatever the socket did not take, and answers queued meanwhile, go asynchronously.
            _ = DrainAsync(sent < frames.Length ? frames : null, sent);
        }
    }

    private byte[] Concatenate()
    {
        var all = new byte[backlogBytes];
        var at = 0;
        foreach (var frame in backlog)
        {
            frame.CopyTo(all, at);
            at += frame.Length;
        }

        return all;
    }

    /// <summary>The connection is over: answers still queued or sent later are dropped.</summary>
    public void Close()
    {
        lock (gate)
        {
            CloseLocked();
        }
    }

    private void CloseLocked()
    {
        closed = true;
        backlog.Clear();
        backlogBytes = 0;
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Writes what the socket takes now without blocking; the bytes written, or -1 when the connection is broken.</summary>
    private int SendNow(byte[] frame, int offset)
    {
        while (offset < frame.Length)
        {
            int n;
            SocketError error;
            try
            {
                n = socket.Send(frame.AsSpan(offset), SocketFlags.None, out error);
            }
            catch (ObjectDisposedException)
            {
                return -1;
            }

            if (error == SocketError.Success)
            {
                offset += n;
            }
            else if (error == SocketError.WouldBlock)
            {
                break;
            }
            else if (error != SocketError.Interrupted)
            {
                return -1;
            }
        }

        return offset;
    }

    private async Task DrainAsync(byte[]? frame, int offset)
    {
        try
        {
            while (true)
            {
                while (frame is not null && offset < frame.Length)
                {
                    offset += await socket.SendAsync(frame.AsMemory(offset), SocketFlags.None).ConfigureAwait(false);
                }

                lock (gate)
                {
                    if (closed || backlog.Count == 0)
                    {
                        writing = false;
                        return;
                    }

                    frame = backlog.Dequeue();
                    backlogBytes -= frame.Length;
                    offset = 0;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Close();
        }
    }
}
