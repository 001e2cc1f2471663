using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Tmds.DBus.Protocol;

namespace Nefele.Bench.Shared;

/// <summary>
/// The systemd engine's baseline, shared by the benchmarks of the node's systemd and of a booted
/// container's: a raw StartTransientUnit of /bin/true until its JobRemoved, over one long-lived
/// connection to a bus, with the properties the engine sets (Type=exec: the job ends once exec
/// succeeded; a slice, accounting, output to /dev/null; no default dependencies where the engine
/// sets none, as it does in a booted container).
/// </summary>
internal sealed class RawTransientUnits : IAsyncDisposable
{
    private const string Service = "org.freedesktop.systemd1";
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string Manager = "org.freedesktop.systemd1.Manager";
    private static readonly string[] TrueArgv = ["/bin/true"];
    private readonly DBusConnection connection;
    private readonly bool defaultDependencies;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> waiting = new(StringComparer.Ordinal);
    private int next;

    private RawTransientUnits(DBusConnection connection, bool defaultDependencies)
    {
        this.connection = connection;
        this.defaultDependencies = defaultDependencies;
    }

    /// <summary>Connects to <paramref name="bus"/> and subscribes to the manager's job signals.</summary>
    /// <param name="bus">The bus address (the node's systemd, or a booted container's).</param>
    /// <param name="defaultDependencies">False: units get DefaultDependencies=no, as the engine gives a booted container's.</param>
    public static async Task<RawTransientUnits> ConnectAsync(string bus, bool defaultDependencies)
    {
        var connection = new DBusConnection(bus);
        await connection.ConnectAsync();
        var raw = new RawTransientUnits(connection, defaultDependencies);
        await connection.AddMatchAsync(
            new MatchRule { Type = MessageType.Signal, Sender = Service, Path = ManagerPath, Interface = Manager, Member = "JobRemoved" },
            static (m, _) =>
            {
                var r = m.GetBodyReader();
                r.ReadUInt32();
                r.ReadObjectPath();
                return (Unit: r.ReadString(), Result: r.ReadString());
            },
            note =>
            {
                if (note.HasValue && raw.waiting.TryRemove(note.Value.Unit, out var done))
                {
                    done.TrySetResult(note.Value.Result);
                }
            },
            emitOnCapturedContext: false);
        await connection.CallMethodAsync(Call(connection, static (ref MessageWriter w) => w.WriteMethodCallHeader(Service, ManagerPath, Manager, "Subscribe", null)));
        return raw;
    }

    /// <summary>One start, timed until its job is removed.</summary>
    public async Task<double> StartAsync()
    {
        var unit = string.Create(CultureInfo.InvariantCulture, $"nefele-bench-raw-{Environment.ProcessId}-{Interlocked.Increment(ref next)}.service");
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting[unit] = done;
        var start = Stopwatch.GetTimestamp();
        await connection.CallMethodAsync(Call(connection, (ref MessageWriter w) => WriteStart(ref w, unit, defaultDependencies)));
        var result = await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        return result == "done" ? elapsed : throw new InvalidOperationException($"{unit}: job {result}");
    }

    public ValueTask DisposeAsync()
    {
        connection.Dispose();
        return ValueTask.CompletedTask;
    }

    private delegate void Write(ref MessageWriter writer);

    private static MessageBuffer Call(DBusConnection connection, Write write)
    {
        var writer = connection.GetMessageWriter();
        try
        {
            write(ref writer);
            return writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static void WriteStart(ref MessageWriter w, string unit, bool defaultDependencies)
    {
        w.WriteMethodCallHeader(Service, ManagerPath, Manager, "StartTransientUnit", "ssa(sv)a(sa(sv))");
        w.WriteString(unit);
        w.WriteString("fail");
        var properties = w.WriteArrayStart(DBusType.Struct);
        w.WriteStructureStart();
        w.WriteString("Type");
        w.WriteVariantString("exec");
        w.WriteStructureStart();
        w.WriteString("ExecStart");
        w.WriteSignature("a(sasb)");
        var exec = w.WriteArrayStart(DBusType.Struct);
        w.WriteStructureStart();
        w.WriteString("/bin/true");
        w.WriteArray(TrueArgv);
        w.WriteBool(false);
        w.WriteArrayEnd(exec);
        w.WriteStructureStart();
        w.WriteString("Slice");
        w.WriteVariantString("nefele-bench.slice");
        if (!defaultDependencies)
        {
            w.WriteStructureStart();
            w.WriteString("DefaultDependencies");
            w.WriteVariantBool(false);
        }

        foreach (var flag in (string[])["NoNewPrivileges", "MemoryAccounting", "CPUAccounting"])
        {
            w.WriteStructureStart();
            w.WriteString(flag);
            w.WriteVariantBool(true);
        }

        foreach (var stream in (string[])["StandardOutputFileDescriptor", "StandardErrorFileDescriptor"])
        {
            w.WriteStructureStart();
            w.WriteString(stream);
            w.WriteVariantHandle(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Write));
        }

        w.WriteArrayEnd(properties);
        var auxiliary = w.WriteArrayStart(DBusType.Struct);
        w.WriteArrayEnd(auxiliary);
    }
}
