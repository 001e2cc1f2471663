namespace Nefele.Cli.Commands;

/// <summary>
/// What nef logs asks the REST API's tenant-wide logs for. Since and until stay as written (an
/// RFC 3339 time or a duration ago, checked by the parser with the shared grammar): the node
/// resolves a duration against its own clock, the one the records' times come from.
/// </summary>
internal sealed record LogsFilter
{
    public IReadOnlyList<string> Npids { get; init; } = [];

    public string? Name { get; init; }

    public string? Node { get; init; }

    public Nefele.Client.LogStream Stream { get; init; }

    public string? Since { get; init; }

    public string? Until { get; init; }

    public bool Follow { get; init; }
}
