using System.Diagnostics;
using System.Globalization;
using Tmds.DBus.Protocol;

namespace Nefele.Bench;

/// <summary>
/// The systemd engine's baselines, measured in the same run on the same systemd: a raw
/// StartTransientUnit of /bin/true until its JobRemoved over one long-lived connection, with the
/// properties the engine sets (Type=exec: the job ends once exec succeeded), and
/// <c>systemd-run --wait /bin/true</c> inside the testbed's namespaces.
/// </summary>
internal static class SystemdBaselines
{
    private const string Service = "org.freedesktop.systemd1";
    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string Manager = "org.freedesktop.systemd1.Manager";
    private static readonly string[] TrueArgv = ["/bin/true"];

    /// <summary>StartTransientUnit → JobRemoved, ten unmeasured rounds first.</summary>
    public static async Task<List<double>> RawStartAsync(string bus, int n)
    {
        using var connection = new DBusConnection(bus);
        await connection.ConnectAsync();
        var waiting = new System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource<string>>(StringComparer.Ordinal);
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
                if (note.HasValue && waiting.TryRemove(note.Value.Unit, out var done))
                {
                    done.TrySetResult(note.Value.Result);
                }
            },
            emitOnCapturedContext: false);
        await connection.CallMethodAsync(Call(connection, static (ref MessageWriter w) => w.WriteMethodCallHeader(Service, ManagerPath, Manager, "Subscribe", null)));

        var samples = new List<double>(n);
        for (var i = 0; i < n + 10; i++)
        {
            var unit = string.Create(CultureInfo.InvariantCulture, $"nefele-bench-raw-{Environment.ProcessId}-{i}.service");
            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting[unit] = done;
            var start = Stopwatch.GetTimestamp();
            await connection.CallMethodAsync(Call(connection, (ref MessageWriter w) => WriteStart(ref w, unit)));
            var result = await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var elapsed = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (result != "done")
            {
                throw new InvalidOperationException($"{unit}: job {result}");
            }

            if (i >= 10)
            {
                samples.Add(elapsed);
            }
        }

        return samples;
    }

    /// <summary><c>nsenter -t PID -m -p -C -- systemd-run --wait --quiet /bin/true</c>, as a user of the testbed would type it.</summary>
    public static async Task<List<double>> SystemdRunAsync(int systemdPid, int n)
    {
        var samples = new List<double>(n);
        for (var i = 0; i < n + 10; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await Baselines.RunAsync("nsenter", "-t", systemdPid.ToString(CultureInfo.InvariantCulture), "-m", "-p", "-C", "--", "systemd-run", "--wait", "--quiet", "/bin/true");
            if (i >= 10)
            {
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        return samples;
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

    private static void WriteStart(ref MessageWriter w, string unit)
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
