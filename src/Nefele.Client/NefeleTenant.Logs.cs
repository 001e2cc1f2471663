using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Nefele.Errors;
using Nefele.Processes;
using Nefele.Tenants;
using Nefele.Validation;

namespace Nefele.Client;

/// <summary>The tenant's logs: the records of many processes at once, across nodes, filtered, merged and followed.</summary>
public sealed partial class NefeleTenant
{
    /// <summary>
    /// What one read of one process asks for while records are merged: small, since one chunk
    /// per matching process is held at a time (a thousand processes hold at most 16 MiB).
    /// </summary>
    private const int MergeReadBytes = 16 * 1024;

    /// <summary>Records waiting between the followed processes and the reader; a full queue holds the followers back.</summary>
    private const int FollowQueueRecords = 256;

    /// <summary>How often a follow asks the tenant for processes that started since (at most once a second).</summary>
    private static readonly TimeSpan FollowDiscoveryPeriod = TimeSpan.FromSeconds(1);

    /// <summary>How long a follower waits before asking again after an empty answer (a process not placed yet answers at once).</summary>
    private static readonly TimeSpan NotPlacedRetry = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long past <see cref="LogQuery.Until"/> a follow still reads: records carry the time
    /// their node read them, and a node's clock or its reading may trail this program's.
    /// </summary>
    private static readonly TimeSpan UntilGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The records of every matching process of this tenant (never another tenant's), on every node.
    /// Without <see cref="LogQuery.Follow"/>: the records kept within since/until, merged in time
    /// order, then the end. With it: the same, then new records as they come and the records of
    /// matching processes that start later (looked for once a second), until <paramref name="ct"/>
    /// is cancelled, <see cref="LogQuery.Until"/> has passed, or, for a query by NPIDs alone, they
    /// have all ended. Records of one process always come in the order it wrote them.
    /// </summary>
    /// <param name="query">The filters.</param>
    /// <param name="ct">Ends the stream (an <see cref="OperationCanceledException"/> from the enumerator).</param>
    /// <returns>The records.</returns>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.BadRequest"/> for a malformed filter;
    /// <see cref="ErrorCodes.NpidNotFound"/> for a named NPID the tenant has none of.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The query overload and the one-process overload differ in their first parameter's type, so no call is ambiguous.")]
    public async IAsyncEnumerable<LogEntry> LogsAsync(LogQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var window = Window(query);
        var fixedSet = query.Npids.Count > 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var matching = await MatchingAsync(query, fixedSet ? query.Npids.Distinct(StringComparer.Ordinal).ToList() : await _grains.GetGrain<ITenantGrain>(Name).ListAsync(includeEnded: true), seen, explicitNpids: fixedSet, ct);

        var cursors = matching.Select(p => new LogCursor(p.Npid)).ToList();
        await foreach (var entry in MergeAsync(cursors, query.Stream, window, ct))
        {
            yield return entry;
        }

        if (!query.Follow || window.Until <= LogFilters.ToUnixNano(DateTimeOffset.UtcNow))
        {
            yield break;
        }

        await foreach (var entry in FollowAsync(query, window, cursors.Where(c => !c.Complete && !c.UntilReached).ToList(), seen, watchForNew: !fixedSet, ct))
        {
            yield return entry;
        }
    }

    /// <summary>The query's time window in ns since the Unix epoch (Until: long.MaxValue for none); a bad one is refused.</summary>
    private static (long Since, long Until) Window(LogQuery query)
    {
        if (query.Name is { } name && !Names.IsProcessName(name))
        {
            throw NefeleException.Bad($"name '{Names.Shorten(name)}' is not a process name: use 1-64 letters, digits, '.', '_' or '-'");
        }

        if (query.Node is "")
        {
            throw NefeleException.Bad("node is empty: give a node's name, or none for every node");
        }

        if (query.Stream is not (LogStream.All or LogStream.Stdout or LogStream.Stderr))
        {
            throw NefeleException.Bad($"stream {(int)query.Stream} is not one of stdout, stderr");
        }

        var since = query.Since is { } s ? Math.Max(0, LogFilters.ToUnixNano(s)) : 0;
        var until = query.Until is { } u ? LogFilters.ToUnixNano(u) : long.MaxValue;
        if (until <= since)
        {
            throw NefeleException.Bad($"until ({LogFilters.FormatTime(until)}) is not after since ({LogFilters.FormatTime(since)}): no record could match");
        }

        return (since, until);
    }

    /// <summary>
    /// The processes among <paramref name="npids"/> that match the query, each read once from its
    /// process grain (which answers only the caller's tenant). Ones decided are added to
    /// <paramref name="seen"/>; one not placed yet while a node is asked for is left to the next look.
    /// </summary>
    private async Task<List<ProcessInfo>> MatchingAsync(LogQuery query, IReadOnlyList<string> npids, HashSet<string> seen, bool explicitNpids, CancellationToken ct)
    {
        var infos = await Task.WhenAll(npids.Where(n => !seen.Contains(n)).Select(async npid =>
        {
            if (explicitNpids)
            {
                // A named NPID that is not the tenant's is an error, as for one process.
                return (npid, await GetAsync(npid, ct));
            }

            return (npid, Npid.IsWellFormed(npid) ? await Process(npid).GetAsync(Name, ct) : null);
        }));
        var matching = new List<ProcessInfo>();
        foreach (var (npid, info) in infos)
        {
            if (info is null || (query.Name is not null && info.Name != query.Name))
            {
                seen.Add(npid);
                continue;
            }

            if (info.Node is null)
            {
                // Not placed yet: no output, and its node is not known. Looked at again next time
                // (a query by NPIDs reads it as it comes: its grain answers once it runs).
                if (info.State.IsTerminal() || explicitNpids)
                {
                    seen.Add(npid);
                    if (explicitNpids && !info.State.IsTerminal() && query.Node is null)
                    {
                        matching.Add(info);
                    }
                }

                continue;
            }

            seen.Add(npid);
            if (info.State != ProcessState.Lost && (query.Node is null || info.Node == query.Node))
            {
                matching.Add(info);
            }
        }

        return matching;
    }

    /// <summary>
    /// What every cursor's process has kept in the window, merged by time (ties in NPID order); each
    /// cursor holds one chunk at a time and ends where its output ends now.
    /// </summary>
    private async IAsyncEnumerable<LogEntry> MergeAsync(List<LogCursor> cursors, LogStream stream, (long Since, long Until) window, [EnumeratorCancellation] CancellationToken ct)
    {
        var heads = new PriorityQueue<LogCursor, (long Time, string Npid)>();

        // Reads until the cursor has a record or is at its end; the caller queues it (the queue is
        // not thread-safe, and the first fills run at once).
        async Task<LogCursor> FillAsync(LogCursor cursor)
        {
            while (cursor.Buffer.Count == 0 && !cursor.AtEnd)
            {
                var chunk = await ReadRecordsAsync(cursor.Npid, new LogRecordRead { Offset = cursor.Offset, MaxBytes = MergeReadBytes, Stream = stream, SinceUnixNano = window.Since, UntilUnixNano = window.Until == long.MaxValue ? 0 : window.Until }, ct);
                cursor.Take(chunk);
                if (chunk is not null && chunk.Records.Count == 0)
                {
                    // An empty answer without waiting: the output ends here for now.
                    cursor.AtEnd = true;
                }
            }

            return cursor;
        }

        void Queue(LogCursor cursor)
        {
            if (cursor.Buffer.Count > 0)
            {
                heads.Enqueue(cursor, (cursor.Buffer.Peek().TimeUnixNano, cursor.Npid));
            }
        }

        foreach (var filled in await Task.WhenAll(cursors.Select(FillAsync)))
        {
            Queue(filled);
        }

        while (heads.TryDequeue(out var cursor, out _))
        {
            yield return cursor.Buffer.Dequeue();
            Queue(await FillAsync(cursor));
        }
    }

    /// <summary>
    /// New records of the cursors' processes and of matching processes found later, as they come:
    /// one reader per process feeds a bounded queue, so a slow consumer holds them back rather than
    /// records piling up.
    /// </summary>
    private async IAsyncEnumerable<LogEntry> FollowAsync(LogQuery query, (long Since, long Until) window, List<LogCursor> cursors, HashSet<string> seen, bool watchForNew, [EnumeratorCancellation] CancellationToken ct)
    {
        var queue = Channel.CreateBounded<LogEntry>(new BoundedChannelOptions(FollowQueueRecords) { SingleReader = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var workers = new List<Task>();
        var running = 1; // the starter's own share, released once every first worker has started

        void Start(Func<Task> work)
        {
            Interlocked.Increment(ref running);
            lock (workers)
            {
                workers.Add(Task.Run(async () =>
                {
                    try
                    {
                        await work();
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                    }
                    catch (Exception e)
                    {
                        queue.Writer.TryComplete(e);
                        await stop.CancelAsync();
                    }
                    finally
                    {
                        if (Interlocked.Decrement(ref running) == 0)
                        {
                            queue.Writer.TryComplete();
                        }
                    }
                }, CancellationToken.None));
            }
        }

        async Task FollowOneAsync(LogCursor cursor)
        {
            while (!stop.IsCancellationRequested)
            {
                // With until, a wait ends when it has passed (and the grace with it), not a whole MaxLogWait later.
                var left = window.Until == long.MaxValue ? Limits.MaxLogWait : DateTimeOffset.UnixEpoch.AddTicks(window.Until / 100) + UntilGrace - DateTimeOffset.UtcNow;
                var pastUntil = left <= TimeSpan.Zero;
                var chunk = await ReadRecordsAsync(cursor.Npid, new LogRecordRead
                {
                    Offset = cursor.Offset,
                    MaxBytes = MergeReadBytes,
                    Wait = pastUntil ? TimeSpan.Zero : left < Limits.MaxLogWait ? left : Limits.MaxLogWait,
                    Stream = query.Stream,
                    SinceUnixNano = window.Since,
                    UntilUnixNano = window.Until == long.MaxValue ? 0 : window.Until,
                }, stop.Token);
                cursor.Take(chunk);
                while (cursor.Buffer.TryDequeue(out var entry))
                {
                    await queue.Writer.WriteAsync(entry, stop.Token);
                }

                if (cursor.Complete || cursor.UntilReached || chunk is null || (pastUntil && chunk.Records.Count == 0))
                {
                    return;
                }

                if (chunk.Records.Count == 0)
                {
                    // A process not placed yet answers at once without waiting: do not spin on it.
                    await Task.Delay(NotPlacedRetry, stop.Token);
                }
            }
        }

        async Task WatchForNewAsync()
        {
            var tenant = _grains.GetGrain<ITenantGrain>(Name);
            using var timer = new PeriodicTimer(FollowDiscoveryPeriod);
            while (await timer.WaitForNextTickAsync(stop.Token))
            {
                if (window.Until != long.MaxValue && DateTimeOffset.UtcNow > DateTimeOffset.UnixEpoch.AddTicks(window.Until / 100) + UntilGrace)
                {
                    return;
                }

                // Ended ones too: a process that started and ended between two looks is still read.
                IReadOnlyList<string> live;
                try
                {
                    live = await tenant.ListAsync(includeEnded: true).WaitAsync(stop.Token);
                }
                catch (Exception e) when (IsTransient(e))
                {
                    continue;
                }

                foreach (var found in await MatchingAsync(query, live, seen, explicitNpids: false, stop.Token))
                {
                    var cursor = new LogCursor(found.Npid);
                    Start(() => FollowOneAsync(cursor));
                }

                // Forget what is no longer listed (collected past retention): an NPID is never reused,
                // so the set stays the size of the tenant's list.
                seen.IntersectWith(live);
            }
        }

        foreach (var cursor in cursors)
        {
            Start(() => FollowOneAsync(cursor));
        }

        if (watchForNew)
        {
            Start(WatchForNewAsync);
        }

        if (Interlocked.Decrement(ref running) == 0)
        {
            queue.Writer.TryComplete();
        }

        try
        {
            await foreach (var entry in queue.Reader.ReadAllAsync(ct))
            {
                yield return entry;
            }
        }
        finally
        {
            await stop.CancelAsync();
            Task[] all;
            lock (workers)
            {
                all = [.. workers];
            }

            // Every worker ends on stop (its failure, if any, was passed to the reader already).
            await Task.WhenAll(all).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One read of a process's records, asked again (from the same offset) when a silo went away
    /// on the way, as <see cref="LogChunksAsync"/> does. Null: the process is gone, or so are its
    /// records (its node's retention collected them, or its node is unavailable).
    /// </summary>
    private async Task<LogRecordChunk?> ReadRecordsAsync(string npid, LogRecordRead read, CancellationToken ct)
    {
        var failures = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            using var call = GatewayGuard(ct);
            try
            {
                return await Process(npid).ReadLogRecordsAsync(Name, read, call.Token).WaitAsync(call.Token);
            }
            catch (NefeleException e) when (e.Code is ErrorCodes.NpidNotFound or ErrorCodes.NodeUnavailable)
            {
                // Its records went with the node's retention, or with its node: the others are still read.
                return null;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                continue;
            }
            catch (Exception e) when (IsTransient(e) && ++failures <= MaxTransientFailures)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000)), ct);
            }
        }
    }

    /// <summary>Where the reading of one process has got to, and the records read but not yet given.</summary>
    private sealed class LogCursor(string npid)
    {
        public string Npid { get; } = npid;

        public long Offset { get; private set; }

        public Queue<LogEntry> Buffer { get; } = new();

        public bool Complete { get; private set; }

        public bool UntilReached { get; private set; }

        /// <summary>No more records for now (a merge stops reading this process).</summary>
        public bool AtEnd { get; set; }

        public void Take(LogRecordChunk? chunk)
        {
            if (chunk is null)
            {
                Complete = AtEnd = true;
                return;
            }

            foreach (var record in chunk.Records)
            {
                Buffer.Enqueue(record);
            }

            Offset = chunk.NextOffset;
            Complete = chunk.Complete;
            UntilReached = chunk.UntilReached;
            AtEnd |= chunk.Complete || chunk.UntilReached;
        }
    }
}
