namespace Nefele.Client;

/// <summary>The records one <see cref="LogRecordRead"/> answered, and where the next read starts.</summary>
[GenerateSerializer, Immutable]
public sealed record LogRecordChunk
{
    /// <summary>The records read, in the order the process wrote them (empty when there was nothing new).</summary>
    [Id(0)] public required IReadOnlyList<LogEntry> Records { get; init; }

    /// <summary>Where the next read should start (past every record looked at, kept or filtered out).</summary>
    [Id(1)] public long NextOffset { get; init; }

    /// <summary>The process has ended and this reaches the end of what it wrote.</summary>
    [Id(2)] public bool Complete { get; init; }

    /// <summary>Oldest offset still kept (output is size-bounded per process).</summary>
    [Id(3)] public long FirstOffset { get; init; }

    /// <summary>A record read at or after the read's until time was reached: no later read answers more.</summary>
    [Id(4)] public bool UntilReached { get; init; }
}
