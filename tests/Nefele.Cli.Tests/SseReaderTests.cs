using System.Text;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Tests;

public sealed class SseReaderTests
{
    private static async Task<List<SseEvent>> ReadAll(string text, int chunk = 3)
    {
        using var stream = new TrickleStream(Encoding.UTF8.GetBytes(text), chunk);
        var events = new List<SseEvent>();
        await foreach (var e in SseReader.ReadAsync(stream, CancellationToken.None))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task Data_lines_are_joined_with_newlines()
    {
        var events = await ReadAll("event: output\ndata: first\ndata: second\ndata: \n\n");
        var e = Assert.Single(events);
        Assert.Equal("output", e.Type);
        Assert.Equal("first\nsecond\n", e.Data);
    }

    [Fact]
    public async Task A_chunk_split_on_newlines_comes_back_exactly()
    {
        const string chunk = "line one\r\n  indented\n\nlast without newline";
        var wire = new StringBuilder("event: output\n");
        foreach (var line in chunk.Split('\n'))
        {
            wire.Append("data: ").Append(line).Append('\n');
        }

        wire.Append("\nevent: end\ndata: \n\n");
        var events = await ReadAll(wire.ToString());
        Assert.Equal(2, events.Count);
        Assert.Equal(chunk, events[0].Data);
        Assert.Equal("end", events[1].Type);
    }

    [Fact]
    public async Task Comments_ids_and_unknown_fields_are_ignored_and_missing_event_is_message()
    {
        var events = await ReadAll(": keepalive\nid: 7\nretry: 10\ndata:{\"a\":1}\n\n");
        var e = Assert.Single(events);
        Assert.Equal("message", e.Type);
        Assert.Equal("{\"a\":1}", e.Data);
    }

    [Fact]
    public async Task An_event_with_no_data_lines_is_still_delivered()
    {
        var e = Assert.Single(await ReadAll("event: end\n\n"));
        Assert.Equal("end", e.Type);
        Assert.Equal(string.Empty, e.Data);
    }

    [Fact]
    public async Task An_unterminated_last_event_is_dropped() =>
        Assert.Single(await ReadAll("event: state\ndata: 1\n\nevent: state\ndata: 2\n"));

    [Fact]
    public async Task Multibyte_characters_split_across_reads_survive() =>
        Assert.Equal("héllo ✓", Assert.Single(await ReadAll("event: output\ndata: héllo ✓\n\n", chunk: 1)).Data);

    /// <summary>Hands out a few bytes per read, so lines and characters straddle reads.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }
}
