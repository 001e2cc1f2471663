using System.Globalization;
using System.Text.Json;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>
/// <c>--log-export-file</c>: each output record of every process, one JSON object a line, for a log
/// shipper to tail; the file is reopened when logrotate moves it; and the export's settings are checked.
/// </summary>
public sealed class LogExportTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string dir = Directory.CreateTempSubdirectory("nefele-export-").FullName;
    private HostdInstance hostd = null!;
    private SiloConnection silo = null!;

    private string ExportFile => Path.Combine(dir, "output.jsonl");

    public async Task InitializeAsync()
    {
        hostd = await HostdInstance.StartAsync("--log-export-file", ExportFile);
        silo = await hostd.AttachAsync();
    }

    public async Task DisposeAsync()
    {
        await silo.DisposeAsync();
        await hostd.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task Every_record_of_both_streams_is_one_json_line_with_the_process_and_the_time_it_was_read()
    {
        var npid = NewNpid();
        var spec = new ProcessSpec { Path = "/bin/sh", Name = "exporter-test" };
        spec.Args.AddRange(["-c", "echo to-stdout; echo 'to-stderr \"quoted\" é' >&2; exit 0"]);
        var started = await silo.LaunchStartedAsync(npid, spec);
        await silo.NextExitAsync(npid);
        var stored = await silo.AllLogRecordsAsync(npid);

        var lines = await LinesOfAsync(npid, n => n >= stored.Count);
        Assert.Equal(stored.Count, lines.Count);
        foreach (var (line, record) in lines.Zip(stored.OrderBy(r => r.Offset)))
        {
            Assert.Equal(hostd.Node, line.GetProperty("node").GetString());
            Assert.Equal("acme", line.GetProperty("tenant").GetString());
            Assert.Equal("exporter-test", line.GetProperty("name").GetString());
            Assert.Equal(started.Pid, line.GetProperty("pid").GetInt32());
            Assert.Equal(record.Stream == LogStream.Stderr ? "stderr" : "stdout", line.GetProperty("stream").GetString());
            Assert.Equal(record.Data.ToStringUtf8(), line.GetProperty("text").GetString());
            Assert.Equal(Rfc3339Nanos(record.TimeUnixNano), line.GetProperty("time").GetString());
        }

        Assert.Equal("to-stdout\n", string.Concat(lines.Where(l => l.GetProperty("stream").GetString() == "stdout").Select(l => l.GetProperty("text").GetString())));
        Assert.Equal("to-stderr \"quoted\" é\n", string.Concat(lines.Where(l => l.GetProperty("stream").GetString() == "stderr").Select(l => l.GetProperty("text").GetString())));
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, (await silo.AckAsync(npid)).BodyCase);
    }

    [Fact]
    public async Task After_logrotate_moves_the_file_new_records_go_to_a_new_file_at_the_path()
    {
        var first = NewNpid();
        await silo.LaunchStartedAsync(first, Echo("before-rotation"));
        await silo.NextExitAsync(first);
        await LinesOfAsync(first, n => n >= 1);

        // What logrotate does without copytruncate: move the file away, the writer must notice.
        var rotated = ExportFile + ".1";
        File.Move(ExportFile, rotated);

        var second = NewNpid();
        await silo.LaunchStartedAsync(second, Echo("after-rotation"));
        await silo.NextExitAsync(second);
        var after = await LinesOfAsync(second, n => n >= 1);
        Assert.Equal("after-rotation\n", after.Single().GetProperty("text").GetString());
        Assert.DoesNotContain("after-rotation", File.ReadAllText(rotated), StringComparison.Ordinal);
        Assert.Contains("before-rotation", File.ReadAllText(rotated), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_file_that_cannot_be_written_drops_records_counted_and_never_stops_a_process()
    {
        long dropped = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Nefele.HostAgent" && instrument.Name == "nefele.hostd.log_export.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "nefele.exporter" && (string?)tag.Value == "jsonl")
                {
                    Interlocked.Add(ref dropped, value);
                }
            }
        });
        listener.Start();

        // The path becomes a directory: the file cannot be reopened there.
        var first = NewNpid();
        await silo.LaunchStartedAsync(first, Echo("before"));
        await silo.NextExitAsync(first);
        await LinesOfAsync(first, n => n >= 1);
        File.Move(ExportFile, ExportFile + ".1");
        Directory.CreateDirectory(ExportFile);

        var lost = NewNpid();
        await silo.LaunchStartedAsync(lost, Echo("lost"));
        var exit = await silo.NextExitAsync(lost);
        Assert.Equal(0, exit.End.ExitCode);
        Assert.Equal("lost\n", await silo.AllLogsAsync(lost));
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (Interlocked.Read(ref dropped) < 1)
        {
            Assert.True(deadline.Elapsed < Bound, "the record that could not be written was not counted as dropped");
            await Task.Delay(50);
        }

        // Once the path can be written again, records go there.
        Directory.Delete(ExportFile);
        var back = NewNpid();
        await silo.LaunchStartedAsync(back, Echo("back"));
        await silo.NextExitAsync(back);
        Assert.Equal("back\n", (await LinesOfAsync(back, n => n >= 1)).Single().GetProperty("text").GetString());
    }

    /// <summary>RFC 3339 in UTC with nine fractional digits, worked out from the nanoseconds with DateTime (100 ns) and the rest.</summary>
    private static string Rfc3339Nanos(long unixNano) =>
        DateTime.UnixEpoch.AddTicks(unixNano / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)
        + (unixNano % 100).ToString("D2", CultureInfo.InvariantCulture) + "Z";

    private static string NewNpid() => "p" + Guid.NewGuid().ToString("N")[..12];

    private static ProcessSpec Echo(string text)
    {
        var spec = new ProcessSpec { Path = "/bin/echo" };
        spec.Args.Add(text);
        return spec;
    }

    /// <summary>Waits until the export file holds enough lines of <paramref name="npid"/>; every line must be a whole JSON object.</summary>
    private async Task<List<JsonElement>> LinesOfAsync(string npid, Func<int, bool> enough)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(ExportFile) && !Directory.Exists(ExportFile))
            {
                var lines = File.ReadAllText(ExportFile).Split('\n');

                // Written in whole lines: the file ends with a newline, and each line parses alone.
                Assert.Equal(string.Empty, lines[^1]);
                List<JsonElement> mine = [.. lines[..^1].Select(l => JsonDocument.Parse(l).RootElement.Clone()).Where(e => e.GetProperty("npid").GetString() == npid)];
                if (enough(mine.Count))
                {
                    return mine;
                }
            }

            Assert.True(deadline.Elapsed < Bound, $"not within {Bound}: the export file's lines of {npid}");

            // A file another writer appends to has no event to wait on here: polled, bounded above.
            await Task.Delay(50);
        }
    }
}
