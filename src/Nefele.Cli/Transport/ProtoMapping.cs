namespace Nefele.Cli.Transport;

/// <summary>Maps the api socket's protobuf replies onto the contract types the REST API uses, so output is the same either way.</summary>
internal static class ProtoMapping
{
    public static Nefele.Client.ProcessInfo ToInfo(Protocol.V1.ProcessInfo p) => new()
    {
        Npid = p.Npid,
        Tenant = string.Empty, // the socket acts for the caller's own tenant and does not repeat it
        Node = Empty(p.Node),
        Pid = p.Pid,
        State = State(p.State),
        CpuMillis = p.CpuMillis,
        MemoryBytes = p.MemoryBytes,
        StartedAt = p.StartedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(p.StartedUnixMs) : null,
        Command = p.Command,
        Name = Empty(p.Name),
        CpuUsageNs = p.CpuUsageNs,
        MemoryUsageBytes = p.MemoryUsageBytes,
        End = p.End is null ? null : ToEnd(p.End),
        Container = Empty(p.Container),
    };

    public static Nefele.Client.ProcessEnd ToEnd(Protocol.V1.ProcessEnd e) => new()
    {
        State = State(e.State),
        ExitCode = e.ExitCode,
        Signal = e.Signal,
        CoreDumped = e.CoreDumped,
        OomKilled = e.OomKilled,
        Reason = Empty(e.Reason),
        EndedAt = e.EndedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(e.EndedUnixMs) : default,
    };

    /// <summary>The contract's state; the two enums share their numbers (an unknown one reads as Lost).</summary>
    public static Nefele.Client.ProcessState State(Protocol.V1.ProcessState state) =>
        Enum.IsDefined((Nefele.Client.ProcessState)(int)state) ? (Nefele.Client.ProcessState)(int)state : Nefele.Client.ProcessState.Lost;

    private static string? Empty(string s) => s.Length == 0 ? null : s;
}
