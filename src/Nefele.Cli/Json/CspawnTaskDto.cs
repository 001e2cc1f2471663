using System.Text.Json;

namespace Nefele.Cli.Json;

/// <summary>One task in a cspawn file; cpu and mem take the same strings as --cpu and --mem.</summary>
[System.Text.Json.Serialization.JsonUnmappedMemberHandling(System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow)]
internal sealed record CspawnTaskDto
{
    public string? Path { get; init; }

    public IReadOnlyList<string>? Args { get; init; }

    // A string ("250m", "64Mi") or a plain number (cores, bytes).
    public JsonElement? Cpu { get; init; }

    public JsonElement? Mem { get; init; }

    public IReadOnlyDictionary<string, string>? Env { get; init; }

    public string? Name { get; init; }

    public string? Cwd { get; init; }

    public int? Count { get; init; }

    public bool NoHandshake { get; init; }

    public IReadOnlyDictionary<string, long>? Devices { get; init; }

    public IReadOnlyList<string>? Affinity { get; init; }

    public IReadOnlyList<string>? AntiAffinity { get; init; }
}
