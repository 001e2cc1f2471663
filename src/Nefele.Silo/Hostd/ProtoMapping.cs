using Nefele.Client;
using Nefele.Processes;
using Nefele.Validation;
using P = Nefele.Protocol.V1;

namespace Nefele.Silo.Hostd;

/// <summary>Between the grain records and their wire forms in protos/.</summary>
internal static class ProtoMapping
{
    public static P.ProcessSpec ToProto(ProcessSpec spec)
    {
        var p = new P.ProcessSpec
        {
            Path = spec.Path,
            Cwd = spec.Cwd ?? string.Empty,
            CpuMillis = spec.CpuMillis,
            MemoryBytes = spec.MemoryBytes,
            Name = spec.Name ?? string.Empty,
            NoHandshake = spec.NoHandshake,
            MailboxMessages = spec.MailboxMessages,
            MailboxBytes = spec.MailboxBytes,
            Image = spec.Image ?? string.Empty,
            Tty = spec.Tty,
        };
        p.Args.AddRange(spec.Args);
        foreach (var (key, value) in spec.Env)
        {
            p.Env[key] = value;
        }

        foreach (var (name, count) in spec.Devices)
        {
            p.Devices[name] = count;
        }

        foreach (var (name, value) in spec.Rlimits)
        {
            p.Rlimits[name] = value;
        }

        p.Affinity.AddRange(spec.Affinity);
        p.AntiAffinity.AddRange(spec.AntiAffinity);
        return p;
    }

    public static ProcessSpec FromProto(P.ProcessSpec p) => new()
    {
        Path = p.Path,
        Args = p.Args.ToArray(),
        Env = p.Env.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
        Cwd = string.IsNullOrEmpty(p.Cwd) ? null : p.Cwd,
        CpuMillis = p.CpuMillis,
        MemoryBytes = p.MemoryBytes,
        Name = string.IsNullOrEmpty(p.Name) ? null : p.Name,
        NoHandshake = p.NoHandshake,
        Devices = p.Devices.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
        Affinity = p.Affinity.ToArray(),
        AntiAffinity = p.AntiAffinity.ToArray(),
        Rlimits = p.Rlimits.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
        MailboxMessages = p.MailboxMessages,
        MailboxBytes = p.MailboxBytes,
        Image = string.IsNullOrEmpty(p.Image) ? null : p.Image,
        Tty = p.Tty,
    };

    public static ProcessEnd FromProto(P.ProcessEnd p) => new()
    {
        State = p.State switch
        {
            P.ProcessState.FailedToStart => ProcessState.FailedToStart,
            P.ProcessState.Lost => ProcessState.Lost,
            _ => ProcessState.Exited,
        },
        ExitCode = p.Signal != 0 ? -1 : p.ExitCode,
        Signal = p.Signal,
        CoreDumped = p.CoreDumped,
        OomKilled = p.OomKilled,
        Reason = string.IsNullOrEmpty(p.Reason) ? null : p.Reason,
        EndedAt = p.EndedUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(p.EndedUnixMs) : DateTimeOffset.UtcNow,
    };

    public static P.ProcessEnd ToProto(ProcessEnd e) => new()
    {
        State = (P.ProcessState)(int)e.State,
        ExitCode = e.ExitCode,
        Signal = e.Signal,
        CoreDumped = e.CoreDumped,
        OomKilled = e.OomKilled,
        Reason = e.Reason ?? string.Empty,
        EndedUnixMs = e.EndedAt.ToUnixTimeMilliseconds(),
    };

    public static P.ProcessInfo ToProto(ProcessInfo i)
    {
        var p = new P.ProcessInfo
        {
            Npid = i.Npid,
            Node = i.Node ?? string.Empty,
            Pid = i.Pid,
            State = (P.ProcessState)(int)i.State,
            CpuMillis = i.CpuMillis,
            MemoryBytes = i.MemoryBytes,
            StartedUnixMs = (i.StartedAt ?? i.CreatedAt).ToUnixTimeMilliseconds(),
            Command = i.Command,
            Name = i.Name ?? string.Empty,
            CpuUsageNs = i.CpuUsageNs,
            MemoryUsageBytes = i.MemoryUsageBytes,
            Container = i.Container ?? string.Empty,
        };
        if (i.End is not null)
        {
            p.End = ToProto(i.End);
        }

        return p;
    }

    /// <summary>A record of a merged read, with the process it came from.</summary>
    public static P.LogRecord ToProto(LogEntry entry) => new()
    {
        Offset = entry.Offset,
        Stream = (P.LogStream)entry.Stream,
        TimeUnixNano = entry.TimeUnixNano,
        Data = Google.Protobuf.ByteString.CopyFrom(entry.Data),
        Npid = entry.Npid,
        Name = entry.Name ?? string.Empty,
        Node = entry.Node ?? string.Empty,
    };

    /// <summary>
    /// The filters of a request that opens a log query, as the SDK takes them (which checks them
    /// as for every door): empty strings and zero times are no filter; a negative time is refused here.
    /// </summary>
    public static LogQuery ToLogQuery(P.LogsQueryRequest request)
    {
        if (request.SinceUnixNano < 0 || request.UntilUnixNano < 0)
        {
            throw NefeleException.Bad($"since_unix_nano ({request.SinceUnixNano}) and until_unix_nano ({request.UntilUnixNano}) must not be negative: ns since the Unix epoch, 0 for no bound");
        }

        return new LogQuery
        {
            Npids = [.. request.Npids],
            Name = request.Name.Length == 0 ? null : request.Name,
            Node = request.Node.Length == 0 ? null : request.Node,
            Stream = (LogStream)request.Stream,
            Since = request.SinceUnixNano == 0 ? null : FromUnixNano(request.SinceUnixNano),
            Until = request.UntilUnixNano == 0 ? null : FromUnixNano(request.UntilUnixNano),
            Follow = request.Follow,
        };
    }

    /// <summary>
    /// How much one reply of a log query carries and how long it waits: 0 takes the default, more
    /// than the bound takes the bound (as the proto says); a negative number is refused.
    /// </summary>
    public static LogQueryLimits FromProto(P.LogsQueryRequest request)
    {
        if (request.MaxRecords < 0 || request.MaxBytes < 0 || request.WaitMs < 0)
        {
            throw NefeleException.Bad($"max_records ({request.MaxRecords}), max_bytes ({request.MaxBytes}) and wait_ms ({request.WaitMs}) must not be negative (0: the default)");
        }

        var wait = TimeSpan.FromMilliseconds(request.WaitMs);
        return new LogQueryLimits(
            request.MaxRecords == 0 ? Limits.DefaultLogQueryRecords : Math.Min(request.MaxRecords, Limits.MaxLogQueryRecords),
            request.MaxBytes == 0 ? Limits.DefaultLogReadBytes : Math.Min(request.MaxBytes, Limits.MaxLogReadBytes),
            wait < Limits.MaxLogWait ? wait : Limits.MaxLogWait);
    }

    /// <summary>Nanoseconds since the Unix epoch as a time (to the 100 ns below, a DateTimeOffset's resolution).</summary>
    private static DateTimeOffset FromUnixNano(long unixNano) => DateTimeOffset.UnixEpoch.AddTicks(unixNano / 100);
}
