namespace Nefele.Cli.Json;

/// <summary>An RFC 9457 problem details body, as the REST API reports errors.</summary>
internal sealed record ProblemDetailsDto
{
    public string? Type { get; init; }

    public string? Title { get; init; }

    public int? Status { get; init; }

    public string? Detail { get; init; }

    public string? Code { get; init; }
}
