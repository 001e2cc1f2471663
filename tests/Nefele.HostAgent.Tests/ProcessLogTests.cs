using System.Text;
using Nefele.HostAgent.Logs;

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
}
