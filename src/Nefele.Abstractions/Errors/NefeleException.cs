namespace Nefele.Client;

/// <summary>
/// A failure the caller caused or can act on: a stable <see cref="Code"/> (see <see cref="ErrorCodes"/>)
/// and a message that says what was wrong and what was allowed. Crosses grain calls intact.
/// </summary>
[GenerateSerializer]
public sealed class NefeleException : Exception
{
    /// <summary>An error with its stable <paramref name="code"/>.</summary>
    /// <param name="code">One of <see cref="ErrorCodes"/>.</param>
    /// <param name="message">What was wrong, in a sentence.</param>
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

    /// <summary>A <see cref="ErrorCodes.BadRequest"/> without a message (for serializers).</summary>
    public NefeleException()
    {
        Code = ErrorCodes.BadRequest;
    }

    /// <summary>A <see cref="ErrorCodes.BadRequest"/> with <paramref name="message"/>.</summary>
    /// <param name="message">What was wrong.</param>
    public NefeleException(string message)
        : base(message)
    {
        Code = ErrorCodes.BadRequest;
    }

    /// <summary>A <see cref="ErrorCodes.BadRequest"/> with <paramref name="message"/>, caused by <paramref name="inner"/>.</summary>
    /// <param name="message">What was wrong.</param>
    /// <param name="inner">The failure that caused it.</param>
    public NefeleException(string message, Exception inner)
        : base(message, inner)
    {
        Code = ErrorCodes.BadRequest;
    }

    /// <summary>The stable code (one of <see cref="ErrorCodes"/>): test it, not the message.</summary>
    [Id(0)] public string Code { get; private set; }

    /// <summary><see cref="ErrorCodes.NpidNotFound"/> for <paramref name="npid"/>.</summary>
    /// <param name="npid">The NPID asked for.</param>
    /// <returns>The error.</returns>
    public static NefeleException NotFound(string npid) =>
        new(ErrorCodes.NpidNotFound, $"no process {npid} in this tenant");

    /// <summary>Not found, with why when it is known (e.g. retention collected it); the code stays npid_not_found.</summary>
    /// <param name="npid">The NPID asked for.</param>
    /// <param name="hint">Why it is gone, when known.</param>
    /// <returns>The error.</returns>
    public static NefeleException NotFound(string npid, string? hint) =>
        hint is null ? NotFound(npid) : new(ErrorCodes.NpidNotFound, $"no process {npid} in this tenant: {hint}");

    /// <summary><see cref="ErrorCodes.SpawnRejected"/> with <paramref name="message"/>.</summary>
    /// <param name="message">Why the spawn was refused.</param>
    /// <returns>The error.</returns>
    public static NefeleException Rejected(string message) => new(ErrorCodes.SpawnRejected, message);

    /// <summary><see cref="ErrorCodes.BadRequest"/> with <paramref name="message"/>.</summary>
    /// <param name="message">What was wrong.</param>
    /// <returns>The error.</returns>
    public static NefeleException Bad(string message) => new(ErrorCodes.BadRequest, message);
}
