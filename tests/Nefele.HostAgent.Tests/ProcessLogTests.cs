using System.Text;
using Nefele.HostAgent.Logs;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

public sealed class ProcessLogTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "nh-log-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        // A log that never received output made no file (nor its directory).
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_drained_log_holds_no_descriptor_and_keeps_its_output_readable()
    {
        var log = new ProcessLog(dir, "drained", limitBytes: 4096);
        log.StartReader(new MemoryStream(Encoding.ASCII.GetBytes("first\n")));
        await log.Drained.WaitAsync(TimeSpan.FromSeconds(10));
        log.MarkEnded();

        Assert.DoesNotContain(log.FilePath, OpenFiles());
        var chunk = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal("first\n", Encoding.ASCII.GetString(chunk.Data));
        Assert.True(chunk.Complete);

        // Output appended after a drain continues the file rather than starting it anew.
        log.Append(Encoding.ASCII.GetBytes("second\n"));
        chunk = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal("first\nsecond\n", Encoding.ASCII.GetString(chunk.Data));
    }

    private static string[] OpenFiles() =>
        [.. Directory.GetFiles("/proc/self/fd").Select(fd => new FileInfo(fd).LinkTarget).OfType<string>()];

    [Fact]
    public async Task Output_over_the_limit_drops_the_oldest_half_and_keeps_offsets_monotonic()
    {
        var log = new ProcessLog(dir, "p1", limitBytes: 4096);
        var all = new StringBuilder();
        for (var i = 0; i < 1000; i++)
        {
            var line = $"line {i:D4}\n"; // 10 bytes
            all.Append(line);
            log.Append(Encoding.ASCII.GetBytes(line));
        }

        log.MarkEnded();
        Assert.True(log.FirstOffset > 0);
        Assert.True(10_000 - log.FirstOffset <= 4096, $"kept {10_000 - log.FirstOffset} bytes");

        var text = new StringBuilder();
        long offset = 0;
        var first = true;
        while (true)
        {
            var chunk = await log.ReadAsync(offset, 1000, TimeSpan.Zero, CancellationToken.None);
            if (first)
            {
                Assert.Equal(log.FirstOffset, chunk.NextOffset - chunk.Data.Length);
                first = false;
            }

            text.Append(Encoding.ASCII.GetString(chunk.Data));
            Assert.True(chunk.NextOffset >= offset);
            offset = chunk.NextOffset;
            if (chunk.Complete)
            {
                break;
            }
        }

        Assert.Equal(10_000, offset);
        Assert.Equal(all.ToString()[(int)log.FirstOffset..], text.ToString());
    }

    [Fact]
    public async Task Reader_waits_for_output_or_the_end()
    {
        var log = new ProcessLog(dir, "p2", limitBytes: 4096);
        var pending = log.ReadAsync(0, 100, TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.False(pending.IsCompleted);
        log.Append("x"u8);
        var chunk = await pending.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("x", Encoding.ASCII.GetString(chunk.Data));
        Assert.False(chunk.Complete);

        var atEnd = log.ReadAsync(1, 100, TimeSpan.FromSeconds(20), CancellationToken.None);
        log.MarkEnded();
        var last = await atEnd.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Empty(last.Data);
        Assert.True(last.Complete);
        Assert.Equal("x", log.LastLine());
    }

    [Fact]
    public async Task Read_without_wait_answers_at_once()
    {
        var log = new ProcessLog(dir, "p3", limitBytes: 4096);
        var chunk = await log.ReadAsync(0, 100, TimeSpan.Zero, CancellationToken.None);
        Assert.Empty(chunk.Data);
        Assert.False(chunk.Complete);
        Assert.Equal(0, chunk.NextOffset);
    }

    [Fact]
    public async Task Streams_are_kept_apart_with_a_time_per_record_and_a_filter_reads_one()
    {
        var log = new ProcessLog(dir, "p4", limitBytes: 4096);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        log.Append(LogStream.Stdout, "out 1\n"u8);
        log.Append(LogStream.Stderr, "err 1\n"u8);
        log.Append(LogStream.Stdout, "out 2\n"u8);
        log.MarkEnded();

        var all = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal([LogStream.Stdout, LogStream.Stderr, LogStream.Stdout], all.Records.Select(r => r.Stream));
        Assert.Equal([0L, 6L, 12L], all.Records.Select(r => r.Offset));
        Assert.All(all.Records, r => Assert.True(r.TimeUnixNano >= before));
        Assert.True(all.Records.Zip(all.Records.Skip(1)).All(p => p.First.TimeUnixNano <= p.Second.TimeUnixNano));
        Assert.Equal("out 1\nerr 1\nout 2\n", Encoding.ASCII.GetString(all.Data));
        Assert.True(all.Complete);

        var errors = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None, LogStream.Stderr);
        Assert.Equal("err 1\n", Encoding.ASCII.GetString(errors.Data));
        Assert.Equal(18, errors.NextOffset);
        Assert.True(errors.Complete);

        // A resume in the middle of a record starts at that byte.
        var middle = await log.ReadAsync(8, 1000, TimeSpan.Zero, CancellationToken.None);
        Assert.Equal("r 1\nout 2\n", Encoding.ASCII.GetString(middle.Data));
        Assert.Equal(8, middle.Records[0].Offset);
        Assert.Equal(LogStream.Stderr, middle.Records[0].Stream);
    }

    [Fact]
    public async Task A_time_window_keeps_records_read_from_since_and_before_until()
    {
        var log = new ProcessLog(dir, "p7", limitBytes: 4096);
        var a = await AppendAtNewTimeAsync(log, LogStream.Stdout, "a\n"u8.ToArray());
        var b = await AppendAtNewTimeAsync(log, LogStream.Stderr, "b\n"u8.ToArray());
        var c = await AppendAtNewTimeAsync(log, LogStream.Stdout, "c\n"u8.ToArray());
        Assert.True(a < b && b < c);

        var fromB = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None, sinceUnixNano: b);
        Assert.Equal("b\nc\n", Encoding.ASCII.GetString(fromB.Data));
        Assert.Equal(2, fromB.Records[0].Offset);
        Assert.False(fromB.UntilReached);

        // The first record at or past until ends the read, and says so: no later read can add one.
        var beforeB = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None, untilUnixNano: b);
        Assert.Equal("a\n", Encoding.ASCII.GetString(beforeB.Data));
        Assert.True(beforeB.UntilReached);
        Assert.Equal(2, beforeB.NextOffset);

        var onlyB = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None, sinceUnixNano: b, untilUnixNano: c);
        Assert.Equal("b\n", Encoding.ASCII.GetString(onlyB.Data));
        Assert.True(onlyB.UntilReached);

        // Combined with a stream filter: stdout from b on is c alone.
        var stdoutFromB = await log.ReadAsync(0, 1000, TimeSpan.Zero, CancellationToken.None, LogStream.Stdout, sinceUnixNano: b);
        Assert.Equal("c\n", Encoding.ASCII.GetString(stdoutFromB.Data));

        // A follower with until waits for a record and answers at once when one past until comes.
        var pending = log.ReadAsync(6, 1000, TimeSpan.FromSeconds(20), CancellationToken.None, untilUnixNano: c + 1);
        await AppendAtNewTimeAsync(log, LogStream.Stdout, "d\n"u8.ToArray());
        var late = await pending.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Empty(late.Records);
        Assert.True(late.UntilReached);
    }

    /// <summary>Appends once the clock has moved past the last record's time, so the record has a time of its own; returns it.</summary>
    private static async Task<long> AppendAtNewTimeAsync(ProcessLog log, LogStream stream, byte[] data)
    {
        var last = (await log.ReadAsync(0, 1 << 20, TimeSpan.Zero, CancellationToken.None)).Records.Select(r => r.TimeUnixNano).DefaultIfEmpty(0).Max();
        Assert.True(SpinWait.SpinUntil(() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100 > last, TimeSpan.FromSeconds(5)));
        log.Append(stream, data);
        return (await log.ReadAsync(0, 1 << 20, TimeSpan.Zero, CancellationToken.None)).Records[^1].TimeUnixNano;
    }

    [Fact]
    public async Task A_filtered_follower_waits_past_the_other_streams_records()
    {
        var log = new ProcessLog(dir, "p5", limitBytes: 4096);
        var pending = log.ReadAsync(0, 100, TimeSpan.FromSeconds(20), CancellationToken.None, LogStream.Stderr);
        log.Append(LogStream.Stdout, "not this\n"u8);
        log.Append(LogStream.Stderr, "this\n"u8);
        var chunk = await pending.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("this\n", Encoding.ASCII.GetString(chunk.Data));
        Assert.Equal(14, chunk.NextOffset);
    }

    [Fact]
    public async Task Reading_both_streams_from_every_offset_across_rotation_neither_repeats_nor_skips()
    {
        var log = new ProcessLog(dir, "p6", limitBytes: 2048);
        var all = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            var line = $"{(i % 3 == 0 ? "E" : "O")}{i:D4}\n";
            all.Append(line);
            log.Append(i % 3 == 0 ? LogStream.Stderr : LogStream.Stdout, Encoding.ASCII.GetBytes(line));
        }

        log.MarkEnded();
        var first = log.FirstOffset;
        Assert.True(first > 0, "rotation dropped the oldest records");
        Assert.True(File.ReadAllBytes(log.FilePath).Length + File.ReadAllBytes(log.FilePath + ".1").Length <= 2048);

        // Small reads, so that resumes land inside records and at file boundaries.
        foreach (var step in new[] { 1, 5, 7, 64 })
        {
            var text = new StringBuilder();
            var offset = first;
            while (true)
            {
                var chunk = await log.ReadAsync(offset, step, TimeSpan.Zero, CancellationToken.None);
                foreach (var r in chunk.Records)
                {
                    Assert.Equal(offset, r.Offset);
                    offset += r.Data.Length;
                    text.Append(Encoding.ASCII.GetString(r.Data.Span));
                }

                Assert.Equal(offset, chunk.NextOffset);
                if (chunk.Complete)
                {
                    break;
                }
            }

            Assert.Equal(all.ToString()[(int)first..], text.ToString());
        }

        var stderr = new StringBuilder();
        long at = 0;
        while (true)
        {
            var chunk = await log.ReadAsync(at, 13, TimeSpan.Zero, CancellationToken.None, LogStream.Stderr);
            Assert.All(chunk.Records, r => Assert.Equal(LogStream.Stderr, r.Stream));
            stderr.Append(Encoding.ASCII.GetString(chunk.Data));
            at = chunk.NextOffset;
            if (chunk.Complete)
            {
                break;
            }
        }

        Assert.Equal(string.Concat(all.ToString()[(int)first..].Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('E')).Select(l => l + "\n")), stderr.ToString());
    }
}
