using System.Text.Json;
using System.Text.Json.Serialization;

namespace Nefele.Bench.Soak;

/// <summary>One look at the node, every --sample-seconds.</summary>
internal sealed class Sample
{
    public double Seconds { get; init; }

    public long Processes { get; init; }

    public double ProcessesPerSecond { get; init; }

    public long? SiloRssBytes { get; init; }

    public long? SiloManagedHeapBytes { get; init; }

    public long? SiloHeapAfterFullGcBytes { get; init; }

    public long? SiloFds { get; init; }

    public long? HostdRssBytes { get; init; }

    public long? HostdFds { get; init; }

    public long? RedisUsedMemoryBytes { get; init; }

    public long? RedisKeys { get; init; }

    public long? LogFiles { get; init; }
}

internal static class SampleJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
