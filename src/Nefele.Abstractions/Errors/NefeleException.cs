namespace Nefele.Client;

/// <summary>
/// A failure the caller caused or can act on: a stable <see cref="Code"/> (see <see cref="ErrorCodes"/>)
/// and a message that says what was wrong and what was allowed. Crosses grain calls intact.
/// </summary>
[GenerateSerializer]
public sealed class NefeleException : Exception
{
    public NefeleException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    /// <summary>An error with its stable <paramref name="code"/>, caused by <paramref name="inner"/>.</summary>
    /// <param name="code">One of <see cref="ErrorCodes"/>.</param>
    /// <param name="message">What was wrong, in a sentence.</param>
    /// <param name="inner">The failure that caused it.</param>
    public NefeleException(string code, string message, Exception inner)
        : base(message, inner)
    {
        Code = code;
    }

    public NefeleException()
    {
        Code = ErrorCodes.BadRequest;
    }

    public NefeleException(string message)
        : base(message)
    {
        Code = ErrorCodes.BadRequest;
    }

    public NefeleException(string message, Exception inner)
        : base(message, inner)
    {
        Code = ErrorCodes.BadRequest;
    }

    [Id(0)] public string Code { get; private set; }

    public static NefeleException NotFound(string npid) =>
        new(ErrorCodes.NpidNotFound, $"no process {npid} in this tenant");

    /// <summary>Not found, with why when it is known (e.g. retention collected it); the code stays npid_not_found.</summary>
    public static NefeleException NotFound(string npid, string? hint) =>
        hint is null ? NotFound(npid) : new(ErrorCodes.NpidNotFound, $"no process {npid} in this tenant: {hint}");

    public static NefeleException Rejected(string message) => new(ErrorCodes.SpawnRejected, message);

    public static NefeleException Bad(string message) => new(ErrorCodes.BadRequest, message);
}
