using System.Runtime.CompilerServices;
using Google.Protobuf;
using Nefele.Protocol.V1;

namespace Nefele.InProcess;

/// <summary>
/// The calls a program running as a Nefele process makes to its node's hostd, over the api socket
/// named by <c>NEFELE_SOCKET</c> (set by hostd in every Nefele process): who it is, spawn, monitor,
/// signal, list and read output of processes, and the messaging of its tenant (send, receive, names,
/// topics). hostd knows the caller by its peer credentials, so every call acts in the caller's own
/// tenant. The C library libnefele makes the same calls (<c>nefele.h</c>).
/// </summary>
/// <remarks>
/// One instance holds one connection, on which any number of calls are in flight together: a receive
/// or a monitor that waits holds up no other call. Thread-safe. When hostd restarts, the calls waiting
/// fail with <see cref="NefeleProcessException"/> and the next call connects again. Request and answer
/// types are the wire contract's (<c>protos/nefele/v1/process_api.proto</c>, namespace
/// <c>Nefele.Protocol.V1</c>).
/// </remarks>
public sealed class NefeleProcess : IAsyncDisposable
{
    /// <summary>The environment variable that names hostd's api socket: <c>NEFELE_SOCKET</c>.</summary>
    public const string SocketVariable = "NEFELE_SOCKET";

    /// <summary>hostd answers one wait within this bound (Limits.MaxMessagingWait on the server); longer
    /// waits are several requests, made here.</summary>
    private static readonly TimeSpan WaitStep = TimeSpan.FromSeconds(10);

    private readonly ProcConnection connection;

    /// <summary>Messages hostd handed over for a receive whose caller had given up (cancelled) by then:
    /// the next receive takes them first, so a cancelled receive loses nothing.</summary>
    private readonly List<Message> returned = [];

    /// <summary>Opens (on first use) a connection to the api socket at <paramref name="socketPath"/>.</summary>
    /// <param name="socketPath">hostd's api socket; usually the value of <c>NEFELE_SOCKET</c> (see <see cref="Connect"/>).</param>
    public NefeleProcess(string socketPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        connection = new ProcConnection(socketPath);
    }

    /// <summary>Whether this program runs as a Nefele process (or descends from one): <c>NEFELE_SOCKET</c> is set.</summary>
    public static bool IsNefeleProcess => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SocketVariable));

    /// <summary>The api socket this instance talks to.</summary>
    public string SocketPath => connection.Path;

    /// <summary>The calls of the Nefele process this program runs as, over the socket <c>NEFELE_SOCKET</c> names.</summary>
    /// <returns>An instance that connects on its first call.</returns>
    /// <exception cref="NefeleProcessException"><c>NEFELE_SOCKET</c> is not set: the program was not started by Nefele.</exception>
    public static NefeleProcess Connect()
    {
        var path = Environment.GetEnvironmentVariable(SocketVariable);
        return string.IsNullOrEmpty(path)
            ? throw new NefeleProcessException($"{SocketVariable} is not set: this program does not run as a Nefele process")
            : new NefeleProcess(path);
    }

    /// <summary>The caller's NPID, tenant and node.</summary>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>hostd's answer.</returns>
    public async Task<SelfReply> SelfAsync(CancellationToken ct = default) =>
        (await CallAsync(new ProcRequest { Self = new SelfRequest() }, ProcResponse.BodyOneofCase.Self, ct).ConfigureAwait(false)).Self;

    /// <summary>Starts one process in the caller's tenant (on any node that fits the spec) and returns its NPID once it runs.</summary>
    /// <param name="spec">The program, its arguments and its needs.</param>
    /// <param name="requestId">Makes a retried spawn return the first answer instead of starting the process twice; null: none.</param>
    /// <param name="ct">Cancels the wait for the answer (the spawn may still happen).</param>
    /// <returns>The new process's NPID.</returns>
    public async Task<string> SpawnAsync(ProcessSpec spec, string? requestId = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var request = new SpawnRequest { Count = 1, RequestId = requestId ?? string.Empty };
        request.Tasks.Add(spec);
        return (await SubmitAsync(request, ct).ConfigureAwait(false))[0];
    }

    /// <summary>Sends a spawn request as it is (one task with a count, or several tasks), all or nothing.</summary>
    /// <param name="request">The request of the wire contract.</param>
    /// <param name="ct">Cancels the wait for the answer (the spawn may still happen).</param>
    /// <returns>The NPIDs of the processes started, in the order of the request.</returns>
    public async Task<IReadOnlyList<string>> SubmitAsync(SpawnRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Traceparent.Length == 0)
        {
            // The spawn continues the caller's trace (its span, or the TRACEPARENT its own spawn gave it).
            (request.Traceparent, request.Tracestate) = Protocol.TraceContext.OfCaller();
        }

        var reply = await CallAsync(new ProcRequest { Spawn = request }, ProcResponse.BodyOneofCase.Spawn, ct).ConfigureAwait(false);
        return reply.Spawn.Npids.Count > 0
            ? [.. reply.Spawn.Npids]
            : throw new NefeleProcessException("hostd answered a spawn without NPIDs");
    }

    /// <summary>Waits until the process has ended (answers at once if it already has).</summary>
    /// <param name="npid">The process.</param>
    /// <param name="ct">Stops waiting.</param>
    /// <returns>How it ended.</returns>
    public async Task<ProcessEnd> MonitorAsync(string npid, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(npid);
        var reply = await CallAsync(new ProcRequest { Monitor = new MonitorRequest { Npid = npid } }, ProcResponse.BodyOneofCase.Monitor, ct)
            .ConfigureAwait(false);
        return reply.Monitor.End ?? throw new NefeleProcessException($"hostd answered monitor of {npid} without an end");
    }

    /// <summary>Sends a signal to processes of the tenant, wherever they run.</summary>
    /// <param name="npids">The processes.</param>
    /// <param name="signal">The signal number (15 is SIGTERM, 9 SIGKILL).</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>A task that completes once hostd has answered.</returns>
    public async Task KillAsync(IEnumerable<string> npids, int signal, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(npids);
        var (traceparent, tracestate) = Protocol.TraceContext.OfCaller();
        var kill = new KillRequest { Signal = signal, Traceparent = traceparent, Tracestate = tracestate };
        kill.Npids.AddRange(npids);
        await CallAsync(new ProcRequest { Kill = kill }, ProcResponse.BodyOneofCase.Kill, ct).ConfigureAwait(false);
    }

    /// <summary>The tenant's processes.</summary>
    /// <param name="all">Also those that ended recently, as <c>ps -a</c>.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>One row a process.</returns>
    public async Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all = false, CancellationToken ct = default) =>
        [.. (await CallAsync(new ProcRequest { Ps = new PsRequest { All = all } }, ProcResponse.BodyOneofCase.Ps, ct).ConfigureAwait(false)).Ps.Processes];

    /// <summary>Reads a process's captured output (stdout and stderr as written) from a byte offset.</summary>
    /// <param name="npid">The process.</param>
    /// <param name="offset">Where to start (0: the first byte kept).</param>
    /// <param name="maxBytes">The most to return (at most 1 MiB).</param>
    /// <param name="wait">When there is nothing past offset yet, how long to wait for output (hostd bounds one wait to 10 s).</param>
    /// <param name="stream">Only this stream's output (Unspecified: both); offsets still count both.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>The bytes, the offset after them, and whether the process has ended and everything was read.</returns>
    public async Task<LogsReply> ReadLogsAsync(string npid, long offset, int maxBytes, TimeSpan wait = default, LogStream stream = LogStream.Unspecified, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(npid);
        var request = new ProcRequest { Logs = new LogsRequest { Npid = npid, Offset = offset, MaxBytes = maxBytes, WaitMs = Milliseconds(wait), Stream = stream } };
        return (await CallAsync(request, ProcResponse.BodyOneofCase.Logs, ct).ConfigureAwait(false)).Logs;
    }

    /// <summary>
    /// One request of the tenant's log query (many processes, merged in time order; see LogsQueryRequest in
    /// process_api.proto): without a cursor it opens a query with the request's filters, with one it
    /// continues (or, with close, ends) that query. Read a cursor from one caller at a time.
    /// </summary>
    /// <param name="request">The filters or the cursor, the reply's bounds and its wait (the silo bounds one wait to 10 s).</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>Records, the cursor to continue with, and whether the query is complete.</returns>
    /// <exception cref="NefeleProcessException">E.g. <c>bad_request</c> for a bad filter or a cursor the silo does not hold, <c>limit_exceeded</c>.</exception>
    public async Task<LogsQueryReply> QueryLogsAsync(LogsQueryRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await CallAsync(new ProcRequest { LogsQuery = request }, ProcResponse.BodyOneofCase.LogsQuery, ct).ConfigureAwait(false)).LogsQuery;
    }

    /// <summary>
    /// Sends a message to an NPID or mailbox address, a name, a numeric service id (<c>"#80"</c>), or with
    /// <see cref="DeliveryMode.Publish"/> a topic. Order is FIFO per sender and receiver; delivery is at most once
    /// (see <see cref="SendOptions.Ack"/> for a send that returns once the message is in the mailboxes).
    /// </summary>
    /// <param name="to">The destination.</param>
    /// <param name="data">The message (at most 1 MiB).</param>
    /// <param name="options">Tag, mode, acknowledgement and wait for room; null: the defaults.</param>
    /// <param name="ct">Cancels the wait for the answer (the message may still be delivered).</param>
    /// <returns>The number of mailboxes the message was put in (acknowledged) or routed to; 0 for a broadcast or publish that reached nobody.</returns>
    /// <exception cref="NefeleProcessException">E.g. <c>name_not_found</c>, <c>mailbox_full</c>, <c>message_too_large</c>, <c>not_running</c> (acknowledged).</exception>
    public async Task<int> SendAsync(string to, ReadOnlyMemory<byte> data, SendOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(to);
        options ??= new SendOptions();
        var send = new SendRequest
        {
            To = to,
            Tag = options.Tag ?? string.Empty,
            Data = ByteString.CopyFrom(data.Span),
            Mode = options.Mode,
            Ack = options.Ack,
            WaitMs = Milliseconds(options.Wait),
        };
        var reply = await CallAsync(new ProcRequest { Send = send }, ProcResponse.BodyOneofCase.Send, ct).ConfigureAwait(false);
        return (int)Math.Min(reply.Send.Delivered, int.MaxValue);
    }

    /// <summary>Sends a message to every subscriber of a topic (<see cref="SendAsync"/> with <see cref="DeliveryMode.Publish"/>).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="data">The message (at most 1 MiB).</param>
    /// <param name="tag">An optional tag.</param>
    /// <param name="ack">Return only once the message is in every subscriber's mailbox.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>How many subscribers it reached (0 when none).</returns>
    public Task<int> PublishAsync(string topic, ReadOnlyMemory<byte> data, string? tag = null, bool ack = false, CancellationToken ct = default) =>
        SendAsync(topic, data, new SendOptions { Tag = tag, Mode = DeliveryMode.Publish, Ack = ack }, ct);

    /// <summary>Takes the oldest message of the caller's mailbox, waiting up to <paramref name="timeout"/> for one.</summary>
    /// <param name="timeout">How long to wait; zero only looks; <see cref="Timeout.InfiniteTimeSpan"/> waits until a message comes.</param>
    /// <param name="tag">Only a message with this tag (a selective receive: the others stay queued in order); null: any.</param>
    /// <param name="ct">Stops waiting; a message hostd hands over after that is kept for the next receive.</param>
    /// <returns>The message.</returns>
    /// <exception cref="NefeleProcessException">Nothing came in time (<see cref="NefeleProcessException.IsTimedOut"/>).</exception>
    public async Task<Message> ReceiveAsync(TimeSpan timeout, string? tag = null, CancellationToken ct = default) =>
        await TryReceiveAsync(timeout, tag, ct).ConfigureAwait(false)
        ?? throw new NefeleProcessException("timed_out", $"no message{(string.IsNullOrEmpty(tag) ? string.Empty : $" tagged {tag}")} came within {timeout}");

    /// <summary>As <see cref="ReceiveAsync"/>, but null when nothing came in time.</summary>
    /// <param name="timeout">How long to wait; zero only looks; <see cref="Timeout.InfiniteTimeSpan"/> waits until a message comes.</param>
    /// <param name="tag">Only a message with this tag; null: any.</param>
    /// <param name="ct">Stops waiting; a message hostd hands over after that is kept for the next receive.</param>
    /// <returns>The message, or null.</returns>
    public async Task<Message?> TryReceiveAsync(TimeSpan timeout, string? tag = null, CancellationToken ct = default)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be zero or more, or Timeout.InfiniteTimeSpan");
        }

        if (TakeReturned(tag) is { } kept)
        {
            return kept;
        }

        var steps = new WaitSteps(timeout);
        var receive = new ReceiveRequest { Tag = tag ?? string.Empty };
        while (true)
        {
            receive.TimeoutMs = steps.NextMs;
            try
            {
                var reply = await CallAsync(new ProcRequest { Receive = receive }, ProcResponse.BodyOneofCase.Receive, ct, KeepAbandoned)
                    .ConfigureAwait(false);
                return reply.Receive.Message ?? throw new NefeleProcessException("hostd answered a receive without a message");
            }
            catch (NefeleProcessException e) when (e.IsTimedOut)
            {
                if (!steps.Advance())
                {
                    return null;
                }
            }
        }
    }

    /// <summary>
    /// A batch receive: waits as <see cref="TryReceiveAsync"/> does for a message, then takes the ones queued
    /// behind it too (up to <paramref name="max"/>; hostd gives at most 1,024 and about 2 MiB of data beyond the
    /// first), oldest first, in one round trip to hostd. Only what is queued is taken: the mailbox's bound still
    /// counts the rest.
    /// </summary>
    /// <param name="max">The most messages to take (1 or more).</param>
    /// <param name="timeout">How long to wait for the first; zero only looks; <see cref="Timeout.InfiniteTimeSpan"/> waits until one comes.</param>
    /// <param name="tag">Only messages with this tag (the others stay queued in order); null: any.</param>
    /// <param name="ct">Stops waiting; messages hostd hands over after that are kept for the next receive.</param>
    /// <returns>The messages, oldest first; empty when nothing came in time.</returns>
    public async Task<IReadOnlyList<Message>> ReceiveManyAsync(int max, TimeSpan timeout, string? tag = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be zero or more, or Timeout.InfiniteTimeSpan");
        }

        // Messages kept from an abandoned receive are older than any still at hostd.
        var kept = new List<Message>();
        while (kept.Count < max && TakeReturned(tag) is { } message)
        {
            kept.Add(message);
        }

        if (kept.Count > 0)
        {
            return kept;
        }

        var steps = new WaitSteps(timeout);
        var receive = new ReceiveRequest { Tag = tag ?? string.Empty, MaxMessages = (uint)max };
        while (true)
        {
            receive.TimeoutMs = steps.NextMs;
            try
            {
                var reply = await CallAsync(new ProcRequest { Receive = receive }, ProcResponse.BodyOneofCase.Receive, ct, KeepAbandoned)
                    .ConfigureAwait(false);
                var first = reply.Receive.Message ?? throw new NefeleProcessException("hostd answered a receive without a message");
                return [first, .. reply.Receive.More];
            }
            catch (NefeleProcessException e) when (e.IsTimedOut)
            {
                if (!steps.Advance())
                {
                    return [];
                }
            }
        }
    }

    /// <summary>Every message of the caller's mailbox (with a tag: those with that tag), as they come, until cancelled.</summary>
    /// <param name="tag">Only messages with this tag; null: all.</param>
    /// <param name="ct">Ends the enumeration.</param>
    /// <returns>The messages in the order they are taken.</returns>
    public async IAsyncEnumerable<Message> ReceiveAllAsync(string? tag = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        while (true)
        {
            var message = await TryReceiveAsync(Timeout.InfiniteTimeSpan, tag, ct).ConfigureAwait(false);
            if (message is not null)
            {
                yield return message;
            }
        }
    }

    /// <summary>Registers a process (or external mailbox) under a name or numeric service id; several holders form a group.
    /// A name dies with its holder, also when the holder's node is lost.</summary>
    /// <param name="name">A name (1-64 of letters, digits, '.', '_', '-', not of the shape of an NPID) or "#80".</param>
    /// <param name="npid">The holder; null: the caller.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>The holders after the registration, in registration order.</returns>
    public async Task<IReadOnlyList<string>> RegisterAsync(string name, string? npid = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var request = new ProcRequest { Register = new RegisterRequest { Name = name, Npid = npid ?? string.Empty } };
        return [.. (await CallAsync(request, ProcResponse.BodyOneofCase.Register, ct).ConfigureAwait(false)).Register.Npids];
    }

    /// <summary>Removes a holder of a name.</summary>
    /// <param name="name">The name or "#80".</param>
    /// <param name="npid">The holder; null: the caller.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>A task that completes once the name service has answered.</returns>
    /// <exception cref="NefeleProcessException"><c>name_not_found</c>: it does not hold the name.</exception>
    public async Task UnregisterAsync(string name, string? npid = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var request = new ProcRequest { Unregister = new UnregisterRequest { Name = name, Npid = npid ?? string.Empty } };
        await CallAsync(request, ProcResponse.BodyOneofCase.Unregister, ct).ConfigureAwait(false);
    }

    /// <summary>Waits until a name has a holder (answers at once if it has one), from the node's own copy of the tenant's names.</summary>
    /// <param name="name">The name or "#80".</param>
    /// <param name="timeout">How long to wait; zero only looks; <see cref="Timeout.InfiniteTimeSpan"/> waits as long as it takes.</param>
    /// <param name="ct">Stops waiting.</param>
    /// <returns>The holders, in registration order.</returns>
    /// <exception cref="NefeleProcessException">Nobody registered it in time (<see cref="NefeleProcessException.IsTimedOut"/>).</exception>
    public async Task<IReadOnlyList<string>> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "timeout must be zero or more, or Timeout.InfiniteTimeSpan");
        }

        var steps = new WaitSteps(timeout);
        var wait = new WaitNameRequest { Name = name };
        while (true)
        {
            wait.TimeoutMs = steps.NextMs;
            try
            {
                var reply = await CallAsync(new ProcRequest { WaitName = wait }, ProcResponse.BodyOneofCase.WaitName, ct).ConfigureAwait(false);
                return [.. reply.WaitName.Npids];
            }
            catch (NefeleProcessException e) when (e.IsTimedOut && steps.Advance())
            {
                // One of several waits ended: the next one goes on.
            }
        }
    }

    /// <summary>The tenant's names (and numeric service ids) with their holders.</summary>
    /// <param name="prefix">Only names starting with this; null: all.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>One entry a name.</returns>
    public Task<IReadOnlyList<NameEntry>> ListNamesAsync(string? prefix = null, CancellationToken ct = default) => ListAsync(prefix, topics: false, ct);

    /// <summary>The tenant's topics with their subscribers.</summary>
    /// <param name="prefix">Only topics starting with this; null: all.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>One entry a topic.</returns>
    public Task<IReadOnlyList<NameEntry>> ListTopicsAsync(string? prefix = null, CancellationToken ct = default) => ListAsync(prefix, topics: true, ct);

    /// <summary>Subscribes a process (or external mailbox) to a topic; the subscription dies with it.</summary>
    /// <param name="topic">The topic (the grammar of a name).</param>
    /// <param name="npid">The subscriber; null: the caller.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>A task that completes once the name service has answered.</returns>
    public async Task SubscribeAsync(string topic, string? npid = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var request = new ProcRequest { Subscribe = new SubscribeRequest { Topic = topic, Npid = npid ?? string.Empty } };
        await CallAsync(request, ProcResponse.BodyOneofCase.Subscribe, ct).ConfigureAwait(false);
    }

    /// <summary>Ends a subscription to a topic.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="npid">The subscriber; null: the caller.</param>
    /// <param name="ct">Cancels the wait for the answer.</param>
    /// <returns>A task that completes once the name service has answered.</returns>
    public async Task UnsubscribeAsync(string topic, string? npid = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        var request = new ProcRequest { Unsubscribe = new UnsubscribeRequest { Topic = topic, Npid = npid ?? string.Empty } };
        await CallAsync(request, ProcResponse.BodyOneofCase.Unsubscribe, ct).ConfigureAwait(false);
    }

    /// <summary>Closes the connection; calls still waiting fail.</summary>
    /// <returns>A task that completes once the connection is closed.</returns>
    public ValueTask DisposeAsync() => connection.DisposeAsync();

    private async Task<IReadOnlyList<NameEntry>> ListAsync(string? prefix, bool topics, CancellationToken ct)
    {
        var request = new ProcRequest { Names = new NamesRequest { Prefix = prefix ?? string.Empty, Topics = topics } };
        return [.. (await CallAsync(request, ProcResponse.BodyOneofCase.Names, ct).ConfigureAwait(false)).Names.Names];
    }

    private Task<ProcResponse> CallAsync(ProcRequest request, ProcResponse.BodyOneofCase expected, CancellationToken ct,
        Action<ProcResponse>? abandoned = null) =>
        connection.CallAsync(request, expected, ct, abandoned);

    /// <summary>The answer to a receive its caller gave up on: a message in it is kept for the next receive.</summary>
    private void KeepAbandoned(ProcResponse response)
    {
        if (response.BodyCase == ProcResponse.BodyOneofCase.Receive && response.Receive.Message is { } message)
        {
            lock (returned)
            {
                returned.Add(message);
                returned.AddRange(response.Receive.More);
            }
        }
    }

    /// <summary>The oldest kept message with this tag (any, for null), taken out of the keep.</summary>
    private Message? TakeReturned(string? tag)
    {
        lock (returned)
        {
            var index = returned.FindIndex(m => string.IsNullOrEmpty(tag) || m.Tag == tag);
            if (index < 0)
            {
                return null;
            }

            var taken = returned[index];
            returned.RemoveAt(index);
            return taken;
        }
    }

    private static int Milliseconds(TimeSpan span) =>
        span <= TimeSpan.Zero ? 0 : (int)Math.Min(int.MaxValue, Math.Ceiling(span.TotalMilliseconds));

    /// <summary>
    /// A caller's timeout cut into waits of at most <see cref="WaitStep"/>: the first wait asks for the
    /// whole timeout (nothing has been waited yet), each later one for what its deadline leaves.
    /// </summary>
    private struct WaitSteps(TimeSpan timeout)
    {
        private readonly bool forever = timeout == Timeout.InfiniteTimeSpan;
        private readonly long deadline = timeout == Timeout.InfiniteTimeSpan ? 0 : Environment.TickCount64 + (long)Math.Ceiling(timeout.TotalMilliseconds);
        private TimeSpan left = timeout == Timeout.InfiniteTimeSpan ? WaitStep : timeout;

        /// <summary>The next wait, in milliseconds.</summary>
        public readonly int NextMs => Milliseconds(left < WaitStep ? left : WaitStep);

        /// <summary>After a wait timed out: false when the deadline has passed, else the next wait is what is left.</summary>
        public bool Advance()
        {
            if (forever)
            {
                return true;
            }

            var rest = deadline - Environment.TickCount64;
            if (rest <= 0)
            {
                return false;
            }

            left = TimeSpan.FromMilliseconds(rest);
            return true;
        }
    }
}
