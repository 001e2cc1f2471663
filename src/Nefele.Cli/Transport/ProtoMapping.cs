using Nefele.Cli.Json;

namespace Nefele.Cli.Transport;

/// <summary>Maps the api socket's protobuf replies onto the shapes the REST API uses, so output is the same either way.</summary>
internal static class ProtoMapping
{
    public static ProcessInfoDto ToDto(Protocol.V1.ProcessInfo p) => new()
    {
        Npid = p.Npid,
        Node = Empty(p.Node),
        Pid = p.Pid,
        State = StateName(p.State),
        CpuMillis = p.CpuMillis,
        MemoryBytes = p.MemoryBytes,
        StartedAt = p.StartedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(p.StartedUnixMs) : null,
        Command = p.Command,
        Name = Empty(p.Name),
        CpuUsageNs = p.CpuUsageNs,
        MemoryUsageBytes = p.MemoryUsageBytes,
        End = p.End is null ? null : ToDto(p.End),
    };

    public static ProcessEndDto ToDto(Protocol.V1.ProcessEnd e) => new()
    {
        State = StateName(e.State),
        ExitCode = e.ExitCode,
        Signal = e.Signal,
        CoreDumped = e.CoreDumped,
        OomKilled = e.OomKilled,
        Reason = Empty(e.Reason),
        EndedAt = e.EndedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(e.EndedUnixMs) : null,
    };

    /// <summary>The REST API's state names (Running, FailedToStart, …); the two enums share their numbers.</summary>
    public static string StateName(Protocol.V1.ProcessState state) =>
        Enum.IsDefined((Processes.ProcessState)(int)state) ? ((Processes.ProcessState)(int)state).ToString() : "Unknown";

    private static string? Empty(string s) => s.Length == 0 ? null : s;
}
