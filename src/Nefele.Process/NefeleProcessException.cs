namespace Nefele.InProcess;

/// <summary>
/// A call on hostd's api socket failed: hostd answered with an error of the catalogue
/// (<see cref="Code"/>, e.g. <c>timed_out</c>, <c>name_not_found</c>, <c>mailbox_full</c>), or the socket
/// could not be reached or broke (<see cref="Code"/> is null).
/// </summary>
public sealed class NefeleProcessException : Exception
{
    /// <summary>Creates an exception with a message and no code.</summary>
    /// <param name="message">What went wrong.</param>
    public NefeleProcessException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with no message.</summary>
    public NefeleProcessException()
    {
    }

    /// <summary>Creates an exception with a message and the failure that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="inner">The failure underneath (a socket or protocol error).</param>
    public NefeleProcessException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates an exception for an error hostd answered.</summary>
    /// <param name="code">The catalogue code hostd sent (enum ErrorCode of protos/nefele/v1/common.proto, in lower case).</param>
    /// <param name="message">hostd's sentence.</param>
    public NefeleProcessException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>The catalogue code hostd answered with (e.g. <c>timed_out</c>); null for a local or transport failure.</summary>
    public string? Code { get; }

    /// <summary>Whether hostd answered <c>timed_out</c>: nothing came within the wait.</summary>
    public bool IsTimedOut => Code == "timed_out";
}
