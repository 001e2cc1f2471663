namespace Nefele.Client;

/// <summary>
/// Which output <see cref="NefeleTenant.LogsAsync(LogQuery, CancellationToken)"/> reads: the
/// tenant's processes that match every filter given (an empty filter matches all of them).
/// </summary>
public sealed record LogQuery
{
    /// <summary>Only these processes (empty: any).</summary>
    public IReadOnlyList<string> Npids { get; init; } = [];

    /// <summary>Only processes spawned with this name (the spawn spec's name, as ps lists it); null: any.</summary>
    public string? Name { get; init; }

    /// <summary>Only processes placed on this node; null: any.</summary>
    public string? Node { get; init; }

    /// <summary>Only this stream's records (<see cref="LogStream.All"/>: both).</summary>
    public LogStream Stream { get; init; }

    /// <summary>Only records read at or after this time; null: every record kept.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only records read before this time; null: no end.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>
    /// Keep reading: new records as they are written, and processes that start later and match,
    /// until cancelled (or, with <see cref="Until"/>, once that time has passed; with only
    /// <see cref="Npids"/>, once they have all ended).
    /// </summary>
    public bool Follow { get; init; }
}
