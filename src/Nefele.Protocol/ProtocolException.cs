namespace Nefele.Protocol;

/// <summary>A frame on a Nefele socket was malformed; the connection is closed after it.</summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException(string message)
        : base(message)
    {
    }

    public ProtocolException()
    {
    }

    public ProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
