using System.Text;

namespace Nefele.Client;

/// <summary>One record of a process's output: what hostd read from one stream at one time.</summary>
[GenerateSerializer, Immutable]
public sealed record LogEntry
{
    /// <summary>The process that wrote it.</summary>
    [Id(0)] public required string Npid { get; init; }

    /// <summary>The process's name given at spawn (as ps lists it); null when it has none.</summary>
    [Id(1)] public string? Name { get; init; }

    /// <summary>The node the process ran on.</summary>
    [Id(2)] public string? Node { get; init; }

    /// <summary>The stream it was written to: <see cref="LogStream.Stdout"/> or <see cref="LogStream.Stderr"/>.</summary>
    [Id(3)] public LogStream Stream { get; init; }

    /// <summary>When hostd read it, in nanoseconds since the Unix epoch (UTC); never decreases within a process.</summary>
    [Id(4)] public long TimeUnixNano { get; init; }

    /// <summary>Position of the record's first byte among all the process wrote (both streams).</summary>
    [Id(5)] public long Offset { get; init; }

    /// <summary>The bytes, as the process wrote them.</summary>
    [Id(6)] public required byte[] Data { get; init; }

    /// <summary>When hostd read it (<see cref="TimeUnixNano"/> to the nearest 100 ns below).</summary>
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimeUnixNano / 100);

    /// <summary>The bytes as UTF-8 text; bytes that are not UTF-8 become U+FFFD.</summary>
    public string Text => Encoding.UTF8.GetString(Data);
}
