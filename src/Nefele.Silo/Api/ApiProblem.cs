namespace Nefele.Silo.Api;

/// <summary>
/// The shape of every error body (RFC 9457 problem details, application/problem+json), as the
/// OpenAPI document describes it. <see cref="Code"/> is the stable code; <see cref="Type"/> is
/// https://nefele.dev/errors/&lt;code&gt;.
/// </summary>
public sealed record ApiProblem
{
    public required string Type { get; init; }

    /// <summary>The code in words ("npid not found").</summary>
    public required string Title { get; init; }

    /// <summary>The HTTP status, repeated.</summary>
    public required int Status { get; init; }

    /// <summary>What was wrong and what is allowed, in one sentence.</summary>
    public required string Detail { get; init; }

    /// <summary>The stable error code (ErrorCodes), the same at every door.</summary>
    public required string Code { get; init; }

    /// <summary>The request's trace id, to find it in the node's log.</summary>
    public string? TraceId { get; init; }
}
