using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Silo.Hostd;

namespace Nefele.Grains.Tests.Unit;

/// <summary>The silo's table of open C API log queries: batches, waits that lose nothing, ends, tenants, bounds and expiry.</summary>
public sealed class LogQueryCursorsTests : IAsyncDisposable
{
    private static readonly LogQueryLimits NoWait = new(256, 256 * 1024, TimeSpan.Zero);
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(30);

    private readonly ManualClock _clock = new();
    private readonly LogQueryCursors _cursors;

    public LogQueryCursorsTests() => _cursors = new LogQueryCursors(_clock, NullLogger<LogQueryCursors>.Instance);

    [Fact]
    public async Task A_read_without_follow_comes_in_bounded_batches_and_ends_complete_with_no_cursor_left()
    {
        var source = new Source();
        for (var i = 0; i < 5; i++)
        {
            source.Write(Entry(i, 10));
        }

        source.End();

        // 3 records at most, or 25 bytes: the third record (30 bytes in all) waits for the next reply.
        var first = await _cursors.OpenAsync("t1", follow: false, source.Read, new LogQueryLimits(3, 25, TimeSpan.Zero));
        Assert.Equal([0L, 1L], first.Records.Select(r => r.Offset));
        Assert.NotNull(first.Cursor);

        var second = await _cursors.NextAsync("t1", first.Cursor, new LogQueryLimits(3, 1000, TimeSpan.Zero));
        Assert.Equal([2L, 3L, 4L], second.Records.Select(r => r.Offset));

        var last = await _cursors.NextAsync("t1", second.Cursor!, NoWait);
        Assert.Empty(last.Records);
        Assert.Null(last.Cursor);
        Assert.Equal(0, _cursors.Count);
        Assert.True(source.Disposed.Task.IsCompleted);
        var gone = await Assert.ThrowsAsync<NefeleException>(() => _cursors.NextAsync("t1", first.Cursor, NoWait));
        Assert.Equal(ErrorCodes.BadRequest, gone.Code);
        Assert.Contains("not open", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_larger_than_a_reply_comes_alone_and_whole()
    {
        var source = new Source();
        source.Write(Entry(0, 10));
        source.Write(Entry(1, 5000));
        source.Write(Entry(2, 10));
        source.End();

        var limits = new LogQueryLimits(100, 100, TimeSpan.Zero);
        var first = await _cursors.OpenAsync("t1", follow: false, source.Read, limits);
        Assert.Equal([10], first.Records.Select(r => r.Data.Length));
        var second = await _cursors.NextAsync("t1", first.Cursor!, limits);
        Assert.Equal([5000], second.Records.Select(r => r.Data.Length));
        var third = await _cursors.NextAsync("t1", second.Cursor!, limits);
        Assert.Equal([10], third.Records.Select(r => r.Data.Length));
    }

    [Fact]
    public async Task A_follower_wait_that_ends_keeps_the_read_going_and_the_next_request_gets_what_came()
    {
        var source = new Source();
        var opened = await _cursors.OpenAsync("t1", follow: true, source.Read, new LogQueryLimits(10, 1000, TimeSpan.FromMilliseconds(50)));
        Assert.Empty(opened.Records);
        Assert.NotNull(opened.Cursor);

        source.Write(Entry(7, 3));
        var next = await _cursors.NextAsync("t1", opened.Cursor, new LogQueryLimits(10, 1000, Bounded));
        Assert.Equal([7L], next.Records.Select(r => r.Offset));
        Assert.False(source.Cancelled);
        Assert.Equal(1, source.Enumerations);
    }

    [Fact]
    public async Task A_cursor_is_not_found_for_another_tenant_and_stays_its_owners()
    {
        var source = new Source();
        var opened = await _cursors.OpenAsync("owner", follow: true, source.Read, NoWait);

        var other = await Assert.ThrowsAsync<NefeleException>(() => _cursors.NextAsync("intruder", opened.Cursor!, NoWait));
        Assert.Equal(ErrorCodes.BadRequest, other.Code);
        var close = await Assert.ThrowsAsync<NefeleException>(() => _cursors.CloseAsync("intruder", opened.Cursor!));
        Assert.Equal(ErrorCodes.BadRequest, close.Code);

        source.Write(Entry(1, 1));
        var mine = await _cursors.NextAsync("owner", opened.Cursor!, new LogQueryLimits(10, 1000, Bounded));
        Assert.Single(mine.Records);
    }

    [Fact]
    public async Task A_tenant_holds_at_most_64_open_queries_others_are_not_held_back_and_a_close_frees_a_place()
    {
        var cursors = new List<string>();
        for (var i = 0; i < 64; i++)
        {
            cursors.Add((await _cursors.OpenAsync("busy", follow: true, new Source().Read, NoWait)).Cursor!);
        }

        var refused = await Assert.ThrowsAsync<NefeleException>(() => _cursors.OpenAsync("busy", follow: true, new Source().Read, NoWait));
        Assert.Equal(ErrorCodes.LimitExceeded, refused.Code);
        Assert.Contains("64", refused.Message, StringComparison.Ordinal);
        Assert.Equal(64, _cursors.Count);

        Assert.NotNull((await _cursors.OpenAsync("quiet", follow: true, new Source().Read, NoWait)).Cursor);

        await _cursors.CloseAsync("busy", cursors[0]);
        Assert.NotNull((await _cursors.OpenAsync("busy", follow: true, new Source().Read, NoWait)).Cursor);
    }

    [Fact]
    public async Task A_cursor_idle_for_a_minute_expires_and_its_read_is_disposed_but_one_in_use_stays()
    {
        var idle = new Source();
        var used = new Source();
        var idleCursor = (await _cursors.OpenAsync("t1", follow: true, idle.Read, NoWait)).Cursor!;
        var usedCursor = (await _cursors.OpenAsync("t1", follow: true, used.Read, NoWait)).Cursor!;

        _clock.Advance(TimeSpan.FromSeconds(59));
        await _cursors.NextAsync("t1", usedCursor, NoWait);
        await _cursors.SweepAsync();
        Assert.Equal(2, _cursors.Count);

        _clock.Advance(TimeSpan.FromSeconds(2));
        await _cursors.SweepAsync();
        Assert.Equal(1, _cursors.Count);
        await idle.Disposed.Task.WaitAsync(Bounded);
        Assert.True(idle.Cancelled);
        var expired = await Assert.ThrowsAsync<NefeleException>(() => _cursors.NextAsync("t1", idleCursor, NoWait));
        Assert.Equal(ErrorCodes.BadRequest, expired.Code);
        Assert.False(used.Disposed.Task.IsCompleted);
    }

    [Fact]
    public async Task Close_ends_a_read_that_another_request_is_waiting_on_and_that_request_answers_complete()
    {
        var source = new Source();
        var cursor = (await _cursors.OpenAsync("t1", follow: true, source.Read, NoWait)).Cursor!;
        var waiting = _cursors.NextAsync("t1", cursor, new LogQueryLimits(10, 1000, Bounded));

        await _cursors.CloseAsync("t1", cursor);
        var answer = await waiting.WaitAsync(Bounded);

        Assert.Null(answer.Cursor);
        Assert.True(source.Disposed.Task.IsCompleted);
        Assert.Equal(0, _cursors.Count);
    }

    [Fact]
    public async Task A_read_that_fails_at_its_start_fails_the_open_and_keeps_nothing()
    {
        var failing = await Assert.ThrowsAsync<NefeleException>(() => _cursors.OpenAsync("t1", follow: true, _ => Refused(), NoWait));
        Assert.Equal(ErrorCodes.BadRequest, failing.Code);
        Assert.Equal(0, _cursors.Count);
    }

    [Fact]
    public async Task Disposing_the_table_ends_every_open_read()
    {
        var sources = Enumerable.Range(0, 3).Select(_ => new Source()).ToList();
        foreach (var source in sources)
        {
            await _cursors.OpenAsync("t" + sources.IndexOf(source), follow: true, source.Read, NoWait);
        }

        await _cursors.DisposeAsync();

        Assert.All(sources, s => Assert.True(s.Disposed.Task.IsCompleted && s.Cancelled));
        Assert.Equal(0, _cursors.Count);
    }

    public async ValueTask DisposeAsync() => await _cursors.DisposeAsync();

    private static LogEntry Entry(long offset, int bytes) => new() { Npid = "p", Offset = offset, Data = new byte[bytes], Stream = LogStream.Stdout };

#pragma warning disable CS1998 // an iterator that fails before its first record, as the SDK's does for a bad filter
    private static async IAsyncEnumerable<LogEntry> Refused()
    {
        throw NefeleException.Bad("stream 9 is not one of stdout, stderr");
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }
#pragma warning restore CS1998

    /// <summary>A read fed by the test; it records whether it was cancelled and disposed.</summary>
    private sealed class Source
    {
        private readonly Channel<LogEntry> _records = Channel.CreateUnbounded<LogEntry>();

        public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public int Enumerations { get; private set; }

        public void Write(LogEntry entry) => _records.Writer.TryWrite(entry);

        public void End() => _records.Writer.TryComplete();

        public async IAsyncEnumerable<LogEntry> Read([EnumeratorCancellation] CancellationToken ct)
        {
            Enumerations++;
            try
            {
                await foreach (var entry in _records.Reader.ReadAllAsync(ct))
                {
                    yield return entry;
                }
            }
            finally
            {
                Cancelled = ct.IsCancellationRequested;
                Disposed.TrySetResult();
            }
        }
    }

    /// <summary>A clock the test moves (timestamps only; timers are real).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
