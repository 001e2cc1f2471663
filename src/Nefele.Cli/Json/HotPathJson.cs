using System.Buffers;
using System.Text.Json;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Cli.Json;

/// <summary>
/// The JSON of the two commands run most often, nef spawn and nef ps, read and written without
/// building System.Text.Json's metadata: before its first use of a type, the serializer configures
/// every property and converter and reads the type's attributes by reflection (source generation
/// included), which was a fifth of those commands' CPU (the serialization-only generated writer
/// builds it too). So the spawn request is written here with <see cref="Utf8JsonWriter"/>, and the
/// two answers read with <see cref="Utf8JsonReader"/> under <see cref="NefJsonContext"/>'s rules
/// (names in any case, comments and trailing commas allowed, unknown properties skipped, states by
/// name or number). Tests hold both to NefJsonContext's output field for field, and the spawn test
/// holds the request's fields to the wire spec's, so a field added to the contract fails a test
/// until it is added here.
/// </summary>
internal static class HotPathJson
{
    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The body of POST …/spawn: every property of the contract type, camelCase, as the context writes it.</summary>
    public static byte[] WriteSpawnRequest(SpawnRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("tasks");
            foreach (var task in request.Tasks)
            {
                WriteSpec(writer, task);
            }

            writer.WriteEndArray();
            writer.WriteNumber("count", request.Count);
            writer.WriteBoolean("allowPartial", request.AllowPartial);
            writer.WriteBoolean("spread", request.Spread);
            writer.WriteString("requestId", request.RequestId);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteSpec(Utf8JsonWriter writer, ProcessSpec spec)
    {
        writer.WriteStartObject();
        writer.WriteString("path", spec.Path);
        WriteStrings(writer, "args", spec.Args);
        writer.WriteStartObject("env");
        foreach (var (key, value) in spec.Env)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
        writer.WriteString("cwd", spec.Cwd);
        writer.WriteNumber("cpuMillis", spec.CpuMillis);
        writer.WriteNumber("memoryBytes", spec.MemoryBytes);
        writer.WriteString("name", spec.Name);
        writer.WriteBoolean("noHandshake", spec.NoHandshake);
        WriteNumbers(writer, "devices", spec.Devices);
        WriteStrings(writer, "affinity", spec.Affinity);
        WriteStrings(writer, "antiAffinity", spec.AntiAffinity);
        WriteNumbers(writer, "rlimits", spec.Rlimits);
        writer.WriteNumber("mailboxMessages", spec.MailboxMessages);
        writer.WriteNumber("mailboxBytes", spec.MailboxBytes);
        writer.WriteString("image", spec.Image);
        writer.WriteBoolean("tty", spec.Tty);
        writer.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }

    private static void WriteNumbers(Utf8JsonWriter writer, string name, IReadOnlyDictionary<string, long> values)
    {
        writer.WriteStartObject(name);
        foreach (var (key, value) in values)
        {
            writer.WriteNumber(key, value);
        }

        writer.WriteEndObject();
    }

    /// <summary>The body of POST …/spawn's answer.</summary>
    public static SpawnResult ReadSpawnResult(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return SpawnResultFrom(utf8);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // A value of the wrong kind (a string where a number goes): malformed, as the serializer says.
            throw new JsonException(e.Message, e);
        }
    }

    /// <summary>The body of GET …/processes: <c>{"processes":[…]}</c>.</summary>
    public static IReadOnlyList<ProcessInfo> ReadProcessList(ReadOnlySpan<byte> utf8)
    {
        try
        {
            return ProcessListFrom(utf8);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new JsonException(e.Message, e);
        }
    }

    /// <summary>The body of GET …/processes/{npid}: one process.</summary>
    public static ProcessInfo ReadProcessInfo(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, ReaderOptions);
            Read(ref reader);
            return ReadProcess(ref reader);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new JsonException(e.Message, e);
        }
    }

    private static SpawnResult SpawnResultFrom(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        Read(ref reader);
        Expect(ref reader, JsonTokenType.StartObject, "a spawn result");
        IReadOnlyList<string>? npids = null;
        IReadOnlyList<string> rejected = [];
        while (NextProperty(ref reader) is { } name)
        {
            if (Is(name, "npids"))
            {
                npids = ReadStrings(ref reader, "npids") ?? throw Null("npids");
            }
            else if (Is(name, "rejected"))
            {
                rejected = ReadStrings(ref reader, "rejected") ?? [];
            }
            else
            {
                reader.Skip();
            }
        }

        return new SpawnResult { Npids = npids ?? throw Missing("npids", "a spawn result"), Rejected = rejected };
    }

    private static List<ProcessInfo> ProcessListFrom(ReadOnlySpan<byte> utf8)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        Read(ref reader);
        Expect(ref reader, JsonTokenType.StartObject, "a process list");
        List<ProcessInfo> processes = [];
        while (NextProperty(ref reader) is { } name)
        {
            if (!Is(name, "processes"))
            {
                reader.Skip();
                continue;
            }

            Read(ref reader);
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            Expect(ref reader, JsonTokenType.StartArray, "processes");
            while (Read(ref reader) != JsonTokenType.EndArray)
            {
                processes.Add(ReadProcess(ref reader));
            }
        }

        return processes;
    }

    private static ProcessInfo ReadProcess(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "a process");
        string? npid = null, tenant = null, node = null, command = null, name = null, container = null;
        ProcessState? state = null;
        int pid = 0;
        long cpuMillis = 0, memoryBytes = 0, cpuUsageNs = 0, memoryUsageBytes = 0, seq = 0;
        DateTimeOffset createdAt = default;
        DateTimeOffset? startedAt = null;
        ProcessEnd? end = null;
        var tty = false;
        while (NextProperty(ref reader) is { } property)
        {
            Read(ref reader);
            switch (property.ToLowerInvariant())
            {
                case "npid": npid = String(ref reader); break;
                case "tenant": tenant = String(ref reader); break;
                case "node": node = String(ref reader); break;
                case "pid": pid = reader.GetInt32(); break;
                case "state": state = State(ref reader); break;
                case "cpumillis": cpuMillis = reader.GetInt64(); break;
                case "memorybytes": memoryBytes = reader.GetInt64(); break;
                case "createdat": createdAt = reader.GetDateTimeOffset(); break;
                case "startedat": startedAt = reader.TokenType == JsonTokenType.Null ? null : reader.GetDateTimeOffset(); break;
                case "command": command = String(ref reader); break;
                case "name": name = String(ref reader); break;
                case "cpuusagens": cpuUsageNs = reader.GetInt64(); break;
                case "memoryusagebytes": memoryUsageBytes = reader.GetInt64(); break;
                case "end": end = reader.TokenType == JsonTokenType.Null ? null : ReadEnd(ref reader); break;
                case "seq": seq = reader.GetInt64(); break;
                case "container": container = String(ref reader); break;
                case "tty": tty = reader.GetBoolean(); break;
                default: reader.Skip(); break;
            }
        }

        return new ProcessInfo
        {
            Npid = npid ?? throw Missing("npid", "a process"),
            Tenant = tenant ?? throw Missing("tenant", "a process"),
            Node = node,
            Pid = pid,
            State = state ?? throw Missing("state", "a process"),
            CpuMillis = cpuMillis,
            MemoryBytes = memoryBytes,
            CreatedAt = createdAt,
            StartedAt = startedAt,
            Command = command ?? throw Missing("command", "a process"),
            Name = name,
            CpuUsageNs = cpuUsageNs,
            MemoryUsageBytes = memoryUsageBytes,
            End = end,
            Seq = seq,
            Container = container,
            Tty = tty,
        };
    }

    private static ProcessEnd ReadEnd(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject, "a process's end");
        ProcessState? state = null;
        int exitCode = -1, signal = 0;
        bool coreDumped = false, oomKilled = false;
        string? reason = null;
        DateTimeOffset endedAt = default;
        while (NextProperty(ref reader) is { } property)
        {
            Read(ref reader);
            switch (property.ToLowerInvariant())
            {
                case "state": state = State(ref reader); break;
                case "exitcode": exitCode = reader.GetInt32(); break;
                case "signal": signal = reader.GetInt32(); break;
                case "coredumped": coreDumped = reader.GetBoolean(); break;
                case "oomkilled": oomKilled = reader.GetBoolean(); break;
                case "reason": reason = String(ref reader); break;
                case "endedat": endedAt = reader.GetDateTimeOffset(); break;
                default: reader.Skip(); break;
            }
        }

        return new ProcessEnd
        {
            State = state ?? throw Missing("state", "a process's end"),
            ExitCode = exitCode,
            Signal = signal,
            CoreDumped = coreDumped,
            OomKilled = oomKilled,
            Reason = reason,
            EndedAt = endedAt,
        };
    }

    private static ProcessState State(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var number) && Enum.IsDefined((ProcessState)number))
        {
            return (ProcessState)number;
        }

        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return Enum.TryParse<ProcessState>(text, ignoreCase: true, out var state) && !int.TryParse(text, out _)
            ? state
            : throw new JsonException($"'{text ?? reader.TokenType.ToString()}' is not a process state");
    }

    private static List<string>? ReadStrings(ref Utf8JsonReader reader, string what)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, what);
        List<string> values = [];
        while (Read(ref reader) != JsonTokenType.EndArray)
        {
            values.Add(String(ref reader) ?? throw Null(what + "'s items"));
        }

        return values;
    }

    /// <summary>The next property's name (the reader then stands on it), or null at the object's end.</summary>
    private static string? NextProperty(ref Utf8JsonReader reader) =>
        Read(ref reader) == JsonTokenType.PropertyName ? reader.GetString()! : null;

    private static string? String(ref Utf8JsonReader reader) =>
        reader.TokenType is JsonTokenType.String or JsonTokenType.Null
            ? reader.GetString()
            : throw new JsonException($"a string was expected, not {reader.TokenType}");

    private static JsonTokenType Read(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("the JSON ends early");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"{what}: {type} was expected, not {reader.TokenType}");
        }
    }

    private static bool Is(string name, string expected) => name.Equals(expected, StringComparison.OrdinalIgnoreCase);

    private static JsonException Missing(string property, string what) => new($"{what} without '{property}'");

    private static JsonException Null(string property) => new($"'{property}' is null");
}
