namespace Nefele.Client;

/// <summary>The body of a commit (<c>POST …/images/{name}/{tag}/commit</c>): whose overlay becomes the new tag.</summary>
[GenerateSerializer, Immutable]
public sealed record ImageCommitRequest
{
    /// <summary>A process that runs or ran from an image in a development container: its node's overlay of that image is committed.</summary>
    [Id(0)] public required string Npid { get; init; }
}
