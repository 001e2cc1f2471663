namespace Nefele.Cli.Transport;

/// <summary>Nefele answered with an error (or could not be reached): nef prints the message and exits with status 1.</summary>
internal sealed class NefeleApiException : Exception
{
    public NefeleApiException(string message)
        : base(message)
    {
    }

    public NefeleApiException()
    {
    }

    public NefeleApiException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The stable error code when the server sent one (e.g. npid_not_found).</summary>
    public string? Code { get; init; }

    /// <summary>No endpoint of the API could be reached (as opposed to an answer that refused).</summary>
    public bool Unreachable { get; init; }
}
