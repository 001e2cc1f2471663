namespace Nefele.Cli.Tests;

/// <summary>One request as <see cref="TestApiServer"/> saw it.</summary>
internal sealed record RecordedRequest(string Method, string PathAndQuery, string? ContentType, string? Accept, string Body);
