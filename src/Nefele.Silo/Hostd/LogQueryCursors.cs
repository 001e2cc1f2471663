using System.Security.Cryptography;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Validation;

namespace Nefele.Silo.Hostd;

/// <summary>
/// The log queries processes hold open through the C API (LogsQueryRequest): each is the SDK's
/// merged read of many processes behind an unguessable cursor id, bound to the tenant that opened
/// it. A reply takes what the read has ready; a read that is still waiting when the reply's wait
/// ends stays pending for the next request, so a short wait never cancels the read. A query ends
/// on close, once its read is complete, after <see cref="Limits.LogQueryIdleTimeout"/> without a
/// request, and at silo shutdown; a tenant holds at most <see cref="Limits.MaxLogQueriesPerTenant"/>.
/// </summary>
internal sealed class LogQueryCursors : IAsyncDisposable
{
    /// <summary>
    /// Once a follower's reply has a record, it takes the next ones that come within this long of
    /// each other, so a burst travels in one reply and a trickle is not held back for the whole wait.
    /// </summary>
    private static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(20);

    private readonly Dictionary<string, Cursor> _cursors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perTenant = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly ILogger<LogQueryCursors> _logger;
    private readonly ITimer _sweeper;
    private bool _disposed;

    public LogQueryCursors(TimeProvider time, ILogger<LogQueryCursors> logger)
    {
        _time = time;
        _logger = logger;
        var period = Limits.LogQueryIdleTimeout / 6;
        _sweeper = time.CreateTimer(_ => _ = SweepLoggedAsync(), null, period, period);
    }

    /// <summary>Open queries (all tenants).</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
            {
                return _cursors.Count;
            }
        }
    }

    /// <summary>
    /// Opens a query of <paramref name="tenant"/> over <paramref name="source"/> (the read, given the
    /// query's cancellation) and answers its first batch; the cursor is kept only when more may come.
    /// A failure of the read's start (a filter the SDK refuses) fails the open and keeps nothing.
    /// </summary>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.LimitExceeded"/> when the tenant already holds
    /// <see cref="Limits.MaxLogQueriesPerTenant"/> queries; whatever the read throws.</exception>
    public async Task<LogQueryBatch> OpenAsync(string tenant, bool follow, Func<CancellationToken, IAsyncEnumerable<LogEntry>> source, LogQueryLimits limits)
    {
        var cursor = new Cursor(NewId(), tenant, follow, _time.GetTimestamp());
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var open = _perTenant.GetValueOrDefault(tenant);
            if (open >= Limits.MaxLogQueriesPerTenant)
            {
                throw new NefeleException(ErrorCodes.LimitExceeded, $"tenant {tenant} already has {open} log queries open in this silo (at most {Limits.MaxLogQueriesPerTenant}): close one, or let an idle one expire after {Limits.LogQueryIdleTimeout.TotalSeconds:0} s");
            }

            _perTenant[tenant] = open + 1;
            _cursors.Add(cursor.Id, cursor);
        }

        // The new cursor's gate is taken before anyone can know its id.
        await cursor.Gate.WaitAsync();
        try
        {
            cursor.Enumerator = source(cursor.Stop.Token).GetAsyncEnumerator(cursor.Stop.Token);
        }
        catch
        {
            await ForgetAsync(cursor);
            throw;
        }

        return await ReadAsync(cursor, limits);
    }

    /// <summary>The next batch of the tenant's query <paramref name="id"/>.</summary>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.BadRequest"/> for a cursor that is not open
    /// (never was, ended, expired, or is another tenant's) or is being read by another request.</exception>
    public async Task<LogQueryBatch> NextAsync(string tenant, string id, LogQueryLimits limits)
    {
        var cursor = Find(tenant, id);
        if (!await cursor.Gate.WaitAsync(0))
        {
            throw cursor.Closed ? NotOpen(id) : NefeleException.Bad($"log query cursor {Shorten(id)} is being read by another request: read a cursor from one thread at a time");
        }

        if (cursor.Closed)
        {
            cursor.Gate.Release();
            throw NotOpen(id);
        }

        return await ReadAsync(cursor, limits);
    }

    /// <summary>Ends the tenant's query <paramref name="id"/> (a read in progress on it ends as complete).</summary>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.BadRequest"/> for a cursor that is not open.</exception>
    public async Task CloseAsync(string tenant, string id)
    {
        var cursor = Find(tenant, id);
        if (!Remove(cursor))
        {
            throw NotOpen(id);
        }

        await cursor.Stop.CancelAsync();
        await cursor.Gate.WaitAsync();
        await DisposeReadAsync(cursor);
    }

    /// <summary>Closes every query idle for <see cref="Limits.LogQueryIdleTimeout"/> or longer.</summary>
    internal async Task SweepAsync()
    {
        Cursor[] all;
        lock (_lock)
        {
            all = [.. _cursors.Values];
        }

        foreach (var cursor in all)
        {
            // One being read is not idle; one just closed by its owner is theirs to dispose.
            if (_time.GetElapsedTime(cursor.LastUsed) < Limits.LogQueryIdleTimeout || !await cursor.Gate.WaitAsync(0))
            {
                continue;
            }

            if (_time.GetElapsedTime(cursor.LastUsed) >= Limits.LogQueryIdleTimeout && Remove(cursor))
            {
                _logger.LogDebug("Log query {Cursor} of tenant {Tenant} expired after {Idle} idle", Shorten(cursor.Id), cursor.Tenant, Limits.LogQueryIdleTimeout);
                await cursor.Stop.CancelAsync();
                await DisposeReadAsync(cursor);
            }
            else
            {
                cursor.Gate.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Cursor[] all;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            all = [.. _cursors.Values];
        }

        await _sweeper.DisposeAsync();
        foreach (var cursor in all)
        {
            if (Remove(cursor))
            {
                await cursor.Stop.CancelAsync();
                await cursor.Gate.WaitAsync();
                await DisposeReadAsync(cursor);
            }
        }
    }

    /// <summary>A sweep from the timer: nothing awaits it, so what goes wrong is logged here.</summary>
    private async Task SweepLoggedAsync()
    {
        try
        {
            await SweepAsync();
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Closing idle log queries failed");
        }
    }

    private static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>A cursor id as it may appear in a message: it is a caller's secret, so a message shows only its start.</summary>
    private static string Shorten(string id) => id.Length <= 8 ? id : id[..8] + "…";

    private static NefeleException NotOpen(string id) =>
        NefeleException.Bad($"log query cursor '{Shorten(id)}' is not open: it ended, was closed, expired after {Limits.LogQueryIdleTimeout.TotalSeconds:0} s without a request, or never existed; open a new query");

    private Cursor Find(string tenant, string id)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw NefeleException.Bad("cursor is empty: give the cursor of the query's last reply");
        }

        lock (_lock)
        {
            // Another tenant's cursor is, for this tenant, no cursor at all.
            return _cursors.TryGetValue(id, out var cursor) && cursor.Tenant == tenant ? cursor : throw NotOpen(id);
        }
    }

    /// <summary>Takes the cursor out of the table (once: false when something else did already).</summary>
    private bool Remove(Cursor cursor)
    {
        lock (_lock)
        {
            if (cursor.Closed || !_cursors.Remove(cursor.Id))
            {
                return false;
            }

            cursor.Closed = true;
            if (--_perTenant[cursor.Tenant] == 0)
            {
                _perTenant.Remove(cursor.Tenant);
            }

            return true;
        }
    }

    /// <summary>Removes the cursor (its gate held) and ends its read.</summary>
    private async Task ForgetAsync(Cursor cursor)
    {
        if (Remove(cursor))
        {
            await cursor.Stop.CancelAsync();
            await DisposeReadAsync(cursor);
        }
    }

    /// <summary>
    /// One batch, with the cursor's gate held (released here). Ends the query when its read is
    /// complete or fails; a read closed meanwhile answers complete.
    /// </summary>
    private async Task<LogQueryBatch> ReadAsync(Cursor cursor, LogQueryLimits limits)
    {
        var records = new List<LogEntry>();
        var complete = false;
        try
        {
            // Without follow, every record is kept already and the read never waits for output:
            // the reply waits for them as long as one wait may last, whatever the caller asked.
            var started = _time.GetTimestamp();
            var wait = cursor.Follow ? limits.Wait : Limits.MaxLogWait;
            long bytes = 0;
            if (cursor.Held is { } held)
            {
                cursor.Held = null;
                records.Add(held);
                bytes = held.Data.Length;
            }

            while (records.Count < limits.MaxRecords && bytes < limits.MaxBytes)
            {
                cursor.Pending ??= cursor.Enumerator!.MoveNextAsync().AsTask();
                if (!cursor.Pending.IsCompleted)
                {
                    var left = wait - _time.GetElapsedTime(started);
                    if (records.Count > 0 && cursor.Follow && left > GatherWindow)
                    {
                        left = GatherWindow;
                    }

                    if (left <= TimeSpan.Zero || !await CompletesWithinAsync(cursor.Pending, left))
                    {
                        break;
                    }
                }

                var more = await cursor.Pending;
                cursor.Pending = null;
                if (!more)
                {
                    complete = true;
                    break;
                }

                var entry = cursor.Enumerator!.Current;
                if (records.Count > 0 && bytes + entry.Data.Length > limits.MaxBytes)
                {
                    // A record is never split: it opens the next reply (alone, if it is larger than a reply).
                    cursor.Held = entry;
                    break;
                }

                records.Add(entry);
                bytes += entry.Data.Length;
            }
        }
        catch (OperationCanceledException) when (cursor.Closed)
        {
            complete = true;
        }
        catch
        {
            cursor.Pending = null;
            await ForgetAsync(cursor);
            cursor.Gate.Release();
            throw;
        }

        if (complete || cursor.Closed)
        {
            await ForgetAsync(cursor);
            cursor.Gate.Release();
            return new LogQueryBatch(records, null);
        }

        cursor.LastUsed = _time.GetTimestamp();
        cursor.Gate.Release();
        return new LogQueryBatch(records, cursor.Id);
    }

    /// <summary>Whether <paramref name="task"/> completes within <paramref name="timeout"/> (it is not cancelled when not).</summary>
    private async Task<bool> CompletesWithinAsync(Task task, TimeSpan timeout)
    {
        using var cancelDelay = new CancellationTokenSource();
        var done = await Task.WhenAny(task, Task.Delay(timeout, _time, cancelDelay.Token));
        await cancelDelay.CancelAsync();
        return done == task;
    }

    /// <summary>Ends the read: waits out a pending step (cancelled already), then disposes the enumerator.</summary>
    private async Task DisposeReadAsync(Cursor cursor)
    {
        try
        {
            if (cursor.Pending is { } pending)
            {
                cursor.Pending = null;
                await ((Task)pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (cursor.Enumerator is { } enumerator)
            {
                cursor.Enumerator = null;
                await enumerator.DisposeAsync();
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The query is over for its caller either way; what its read did on the way out is only of interest here.
            _logger.LogDebug(e, "Log query {Cursor} of tenant {Tenant} failed while it was closed", Shorten(cursor.Id), cursor.Tenant);
        }
        finally
        {
            cursor.Stop.Dispose();
        }
    }

    /// <summary>One open query.</summary>
    private sealed class Cursor(string id, string tenant, bool follow, long opened)
    {
        public string Id { get; } = id;

        public string Tenant { get; } = tenant;

        public bool Follow { get; } = follow;

        /// <summary>Held by the one request reading it (or closing it).</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        /// <summary>Cancels the read when the query ends.</summary>
        public CancellationTokenSource Stop { get; } = new();

        public IAsyncEnumerator<LogEntry>? Enumerator { get; set; }

        /// <summary>A step of the read that a reply's wait did not see end; the next request awaits it.</summary>
        public Task<bool>? Pending { get; set; }

        /// <summary>A record read that did not fit the last reply.</summary>
        public LogEntry? Held { get; set; }

        /// <summary>Monotonic timestamp of the last reply.</summary>
        public long LastUsed { get; set; } = opened;

        private volatile bool _closed;

        /// <summary>Out of the table (set under the table's lock).</summary>
        public bool Closed
        {
            get => _closed;
            set => _closed = value;
        }
    }
}

/// <summary>What one reply of a log query may carry and how long it waits for a first record.</summary>
internal readonly record struct LogQueryLimits(int MaxRecords, int MaxBytes, TimeSpan Wait);

/// <summary>One reply of a log query: its records, and the cursor to continue with (null: complete).</summary>
internal sealed record LogQueryBatch(IReadOnlyList<LogEntry> Records, string? Cursor);
