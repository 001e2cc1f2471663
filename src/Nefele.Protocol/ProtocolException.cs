namespace Nefele.Protocol;

/// <summary>A frame on a Nefele socket was malformed; the connection is closed after it.</summary>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates the exception with what was wrong with the frame.</summary>
    /// <param name="message">What was wrong.</param>
    public ProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public ProtocolException()
    {
    }

    /// <summary>Creates the exception with what was wrong and the failure underneath.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="inner">The failure underneath.</param>
    public ProtocolException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
