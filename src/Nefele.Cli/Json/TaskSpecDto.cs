namespace Nefele.Cli.Json;

/// <summary>One task of a spawn request, as the REST API takes it.</summary>
internal sealed record TaskSpecDto
{
    public required string Path { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public string? Cwd { get; init; }

    public long CpuMillis { get; init; }

    public long MemoryBytes { get; init; }

    public string? Name { get; init; }

    public bool NoHandshake { get; init; }

    public IReadOnlyDictionary<string, long> Devices { get; init; } = new Dictionary<string, long>();

    public IReadOnlyList<string> Affinity { get; init; } = [];

    public IReadOnlyList<string> AntiAffinity { get; init; } = [];
}
