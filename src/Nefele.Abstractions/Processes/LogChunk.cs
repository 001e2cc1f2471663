namespace Nefele.Client;

/// <summary>Part of a process's captured output (stdout and stderr, interleaved as written).</summary>
[GenerateSerializer, Immutable]
public sealed record LogChunk
{
    /// <summary>The bytes read (empty when there was nothing new).</summary>
    [Id(0)] public required byte[] Data { get; init; }

    /// <summary>Where the next read should start.</summary>
    [Id(1)] public long NextOffset { get; init; }

    /// <summary>The process has ended and this reaches the end of what it wrote.</summary>
    [Id(2)] public bool Complete { get; init; }

    /// <summary>Oldest offset still kept (output is size-bounded per process).</summary>
    [Id(3)] public long FirstOffset { get; init; }
}
