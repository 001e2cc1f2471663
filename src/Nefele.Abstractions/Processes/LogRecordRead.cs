namespace Nefele.Client;

/// <summary>One read of a process's output as records, as the process grain passes it to the node.</summary>
[GenerateSerializer, Immutable]
public sealed record LogRecordRead
{
    /// <summary>The byte of the output to start at (the previous read's <see cref="LogRecordChunk.NextOffset"/>).</summary>
    [Id(0)] public long Offset { get; init; }

    /// <summary>The most bytes of records to answer (0: <see cref="Validation.Limits.DefaultLogReadBytes"/>).</summary>
    [Id(1)] public int MaxBytes { get; init; }

    /// <summary>How long to wait for a record when there is none yet; zero: answer at once.</summary>
    [Id(2)] public TimeSpan Wait { get; init; }

    /// <summary>Only this stream's records (<see cref="LogStream.All"/>: both).</summary>
    [Id(3)] public LogStream Stream { get; init; }

    /// <summary>Only records read at or after this time (ns since the Unix epoch; 0: from the first kept).</summary>
    [Id(4)] public long SinceUnixNano { get; init; }

    /// <summary>Only records read before this time (ns since the Unix epoch; 0: no end).</summary>
    [Id(5)] public long UntilUnixNano { get; init; }
}
