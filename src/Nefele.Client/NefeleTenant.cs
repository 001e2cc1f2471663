using System.Diagnostics;
using System.Runtime.CompilerServices;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Tenants;
using Nefele.Validation;
using Orleans.Runtime;

namespace Nefele.Client;

/// <summary>
/// Everything a tenant can do with its processes. The one implementation behind all front
/// doors: the SDK (over an Orleans client), the REST API and hostd's socket (inside the silo).
/// </summary>
public sealed partial class NefeleTenant
{
    /// <summary>How long one monitor poll waits on the process grain before asking again.</summary>
    private static readonly TimeSpan WatchPoll = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A poll that has not answered by then went to a silo that died: ask again (the grain
    /// reactivates elsewhere) rather than wait for the messaging layer's 30 s response timeout.
    /// </summary>
    private static readonly TimeSpan WatchAnswerBound = WatchPoll + TimeSpan.FromSeconds(2);

    private readonly IGrainFactory _grains;
    private readonly GatewayLoss? _gatewayLoss;

    /// <summary>The tenant over <paramref name="grains"/>: the SDK's connection, or a silo's own grain factory (the REST API, the process socket).</summary>
    internal NefeleTenant(IGrainFactory grains, string tenant, GatewayLoss? gatewayLoss = null)
    {
        Names.ValidateTenantName(tenant);
        _grains = grains;
        _gatewayLoss = gatewayLoss;
        Name = tenant;
    }

    /// <summary>The tenant's name.</summary>
    public string Name { get; }

    /// <summary>The tenant's supervisors: durable ones (grains that outlive this program and their node) and program-local ones.</summary>
    public NefeleSupervisors Supervisors => new(_grains, this);

    /// <summary>The tenant's images (root filesystem tarballs with a config) that spawns run from.</summary>
    public NefeleImages Images => new(_grains, Name);

    /// <summary>
    /// Spawns one process and answers its NPID once it is Running. A request that cannot start
    /// throws <see cref="NefeleException"/> with its code: <see cref="ErrorCodes.ProgramNotFound"/>
    /// when the program does not exist on the node chosen for it, <see cref="ErrorCodes.SpawnRejected"/>
    /// when it was refused otherwise before the program ran (a bad spec, not executable, no node with room),
    /// <see cref="ErrorCodes.QuotaExceeded"/>, or <see cref="ErrorCodes.FailedToStart"/> with the
    /// reason when the program ran but never became a Nefele process (a static binary without
    /// <see cref="ProcessSpec.NoHandshake"/>, one that exits before its handshake).
    /// </summary>
    /// <param name="spec">What to run.</param>
    /// <param name="requestId">Makes a retry idempotent: the same id answers the same NPID. Null: a new request.</param>
    /// <param name="ct">Cancels waiting for the answer (the spawn may still happen; retry with the same <paramref name="requestId"/> to learn its NPID).</param>
    /// <returns>The Running process's NPID.</returns>
    public async Task<string> SpawnAsync(ProcessSpec spec, string? requestId = null, CancellationToken ct = default)
    {
        var result = await SubmitAsync(new SpawnRequest { Tasks = [spec], Count = 1 }, requestId, ct);
        ThrowIfFailedToStart(result);
        return result.Npids[0];
    }

    /// <summary>
    /// Spawns <paramref name="count"/> copies of <paramref name="spec"/>, all or nothing: a refusal
    /// throws and nothing runs; if any copy fails to start, the others are killed and
    /// <see cref="ErrorCodes.FailedToStart"/> is thrown.
    /// </summary>
    /// <param name="count">How many copies (1 to 10,000).</param>
    /// <param name="spec">What each copy runs.</param>
    /// <param name="requestId">Makes a retry idempotent; null: a new request.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>The NPIDs, all Running.</returns>
    public async Task<IReadOnlyList<string>> NSpawnAsync(int count, ProcessSpec spec, string? requestId = null, CancellationToken ct = default) =>
        await AllStartedAsync(await SubmitAsync(new SpawnRequest { Tasks = [spec], Count = count }, requestId, ct), ct);

    /// <summary>
    /// As <see cref="NSpawnAsync"/>, but takes what fits: the result lists the NPIDs admitted,
    /// why the other copies were refused, and which admitted ones failed to start.
    /// </summary>
    /// <param name="count">How many copies at most.</param>
    /// <param name="spec">What each copy runs.</param>
    /// <param name="requestId">Makes a retry idempotent; null: a new request.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>The partial result.</returns>
    public Task<SpawnResult> NSpawnPartialAsync(int count, ProcessSpec spec, string? requestId = null, CancellationToken ct = default) =>
        SubmitAsync(new SpawnRequest { Tasks = [spec], Count = count, AllowPartial = true }, requestId, ct);

    /// <summary>Spawns a set of different processes, all or nothing, as <see cref="NSpawnAsync"/>.</summary>
    /// <param name="specs">One spec per process.</param>
    /// <param name="requestId">Makes a retry idempotent; null: a new request.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>The NPIDs in the order of <paramref name="specs"/>, all Running.</returns>
    public async Task<IReadOnlyList<string>> CSpawnAsync(IReadOnlyList<ProcessSpec> specs, string? requestId = null, CancellationToken ct = default) =>
        await AllStartedAsync(await SubmitAsync(new SpawnRequest { Tasks = specs, Count = 1 }, requestId, ct), ct);

    /// <summary>As <see cref="CSpawnAsync"/>, but takes what fits, as <see cref="NSpawnPartialAsync"/>.</summary>
    /// <param name="specs">One spec per process.</param>
    /// <param name="requestId">Makes a retry idempotent; null: a new request.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>The partial result.</returns>
    public Task<SpawnResult> CSpawnPartialAsync(IReadOnlyList<ProcessSpec> specs, string? requestId = null, CancellationToken ct = default) =>
        SubmitAsync(new SpawnRequest { Tasks = specs, Count = 1, AllowPartial = true }, requestId, ct);

    /// <summary>
    /// Submits a request as given, as the REST API and the process socket do: no exception for
    /// processes that failed to start (see <see cref="SpawnResult.FailedToStart"/>). The request id
    /// (<paramref name="requestId"/>, else the request's own) makes retries idempotent (a new one
    /// is made when both are null).
    /// </summary>
    /// <param name="request">The whole request.</param>
    /// <param name="requestId">Overrides <see cref="SpawnRequest.RequestId"/>.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>What the request created.</returns>
    public Task<SpawnResult> SubmitAsync(SpawnRequest request, string? requestId = null, CancellationToken ct = default)
    {
        var key = GrainKeys.PlacementRequest(Name, requestId ?? request.RequestId ?? Guid.NewGuid().ToString("N"));
        SpecValidator.Validate(request);
        var grain = _grains.GetGrain<IPlacementRequestGrain>(key);
        return NefeleTelemetry.Source.HasListeners() ? SubmitTracedAsync(grain, request, ct) : grain.SubmitAsync(request, ct);
    }

    /// <summary>The submission under a span of its own, the root of the spawn's trace (or a child of the caller's span).</summary>
    private async Task<SpawnResult> SubmitTracedAsync(IPlacementRequestGrain grain, SpawnRequest request, CancellationToken ct)
    {
        using var activity = NefeleTelemetry.Source.StartActivity("nefele.spawn.submit", ActivityKind.Client);
        activity?.SetTag(Tracing.SpanAttributes.Tenant, Name);
        try
        {
            var result = await grain.SubmitAsync(request, ct);
            if (result.Npids.Count == 1)
            {
                activity?.SetTag(Tracing.SpanAttributes.Npid, result.Npids[0]);
            }

            return result;
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    private static void ThrowIfFailedToStart(SpawnResult result)
    {
        if (result.FailedToStart.Count > 0)
        {
            var (npid, reason) = result.FailedToStart.First();
            var more = result.FailedToStart.Count > 1 ? $" (and {result.FailedToStart.Count - 1} more)" : string.Empty;
            throw new NefeleException(ErrorCodes.FailedToStart, $"{npid} failed to start: {reason}{more}");
        }
    }

    /// <summary>All or nothing: when some failed to start, the others are killed before the error.</summary>
    private async Task<IReadOnlyList<string>> AllStartedAsync(SpawnResult result, CancellationToken ct)
    {
        if (result.FailedToStart.Count > 0)
        {
            await Task.WhenAll(result.Npids.Where(n => !result.FailedToStart.ContainsKey(n)).Select(async n =>
            {
                try
                {
                    await KillAsync(n, Signals.SigKill, ct);
                }
                catch (NefeleException e) when (e.Code is ErrorCodes.NotRunning or ErrorCodes.NpidNotFound)
                {
                    // Ended meanwhile.
                }
            }));
            ThrowIfFailedToStart(result);
        }

        return result.Npids;
    }

    /// <summary>
    /// Every state transition of the process from <paramref name="afterSeq"/> on, each exactly once,
    /// ending after the terminal one (Exited, FailedToStart, Lost). Rides out the loss of a gateway
    /// or of the silo holding the process: it carries on from the last event it gave.
    /// </summary>
    /// <param name="npid">The process.</param>
    /// <param name="afterSeq">The <see cref="ProcessEvent.Seq"/> of the last event already seen; 0: from the start.</param>
    /// <param name="ct">Ends the stream (an <see cref="OperationCanceledException"/> from the enumerator).</param>
    /// <returns>The events, in order.</returns>
    public async IAsyncEnumerable<ProcessEvent> MonitorAsync(string npid, long afterSeq = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var process = Process(npid);
        var relay = _grains.GetGrain<IProcessWatchRelay>(npid);
        var failures = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            IReadOnlyList<ProcessEvent>? watched;
            ProcessInfo? info = null;
            using var call = GatewayGuard(ct);
            try
            {
                // Through the gateway silo, which fails the call as soon as the process grain's silo is declared dead.
                watched = await relay.WatchAsync(Name, afterSeq, WatchPoll, call.Token).WaitAsync(WatchAnswerBound, call.Token);
                if (watched is { Count: 0 })
                {
                    // Nothing new: has it ended (or gone)? Asked here, so a silo stopping meanwhile is retried too.
                    info = await process.GetAsync(Name, call.Token).WaitAsync(WatchAnswerBound, call.Token);
                }

                failures = 0;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // A gateway was lost: the call may have been on it. Asked again through the others.
                continue;
            }
            catch (Exception e) when (IsTransient(e) && ++failures <= MaxTransientFailures)
            {
                // The silo holding the process grain went away: the next call activates the
                // grain elsewhere from its stored state (and finds out if its node is lost).
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000)), ct);
                continue;
            }

            var events = watched ?? throw await MissingAsync(npid);
            if (events.Count == 0 && info?.State.IsTerminal() != false)
            {
                if (info is not null && info.End is not null && info.Seq > afterSeq)
                {
                    // The end was recorded by another activation than the one this poll reached
                    // (a silo died meanwhile): pass it on from the record rather than lose it.
                    yield return new ProcessEvent
                    {
                        Npid = npid,
                        Seq = info.Seq,
                        State = info.State,
                        Node = info.Node,
                        Pid = info.Pid,
                        End = info.End,
                        At = info.End.EndedAt,
                    };
                }

                yield break;
            }
            foreach (var e in events)
            {
                afterSeq = e.Seq;
                yield return e;
                if (e.State.IsTerminal())
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>Waits until the process has ended; answers at once for an ended one.</summary>
    /// <param name="npid">The process.</param>
    /// <param name="ct">Cancels the wait.</param>
    /// <returns>How it ended.</returns>
    public async Task<ProcessEnd> WaitAsync(string npid, CancellationToken ct = default)
    {
        await foreach (var e in MonitorAsync(npid, 0, ct))
        {
            if (e.State.IsTerminal())
            {
                return e.End!;
            }
        }

        throw await MissingAsync(npid);
    }

    /// <summary>
    /// Types <paramref name="data"/> into a tty process's terminal (spawn --tty), as a user at its
    /// keyboard would: the process reads it on its stdin, echoed as its terminal settings say.
    /// <see cref="ErrorCodes.BadRequest"/> when it has no terminal or the data is over
    /// <see cref="Validation.Limits.MaxTerminalInputBytes"/>; <see cref="ErrorCodes.NotRunning"/> when it has ended.
    /// </summary>
    /// <param name="npid">The process.</param>
    /// <param name="data">The bytes to type.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When the terminal has taken the bytes.</returns>
    public Task TypeAsync(string npid, ReadOnlyMemory<byte> data, CancellationToken ct = default) =>
        Process(npid).TerminalInputAsync(Name, data.ToArray(), 0, 0, ct);

    /// <summary>
    /// Sets a tty process's terminal window size; the terminal's foreground process group gets
    /// SIGWINCH, so a full-screen program redraws. Rows and columns 1..<see cref="Validation.Limits.MaxTerminalSize"/>.
    /// </summary>
    /// <param name="npid">The process.</param>
    /// <param name="rows">Lines.</param>
    /// <param name="columns">Characters per line.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When the terminal has the new size.</returns>
    public Task ResizeTerminalAsync(string npid, int rows, int columns, CancellationToken ct = default) =>
        rows < 1 || columns < 1
            ? Task.FromException(NefeleException.Bad($"window size {rows}x{columns} is not one (rows and columns 1..{Validation.Limits.MaxTerminalSize})"))
            : Process(npid).TerminalInputAsync(Name, [], rows, columns, ct);

    /// <summary>Sends <paramref name="signal"/> to the process; <see cref="ErrorCodes.NotRunning"/> when it has ended.</summary>
    /// <param name="npid">The process.</param>
    /// <param name="signal">The signal's number (<see cref="Signals"/>); default SIGTERM.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When the process's node has sent it.</returns>
    public Task KillAsync(string npid, int signal = Signals.SigTerm, CancellationToken ct = default) =>
        NefeleTelemetry.Source.HasListeners() ? KillTracedAsync(npid, signal, ct) : Process(npid).SignalAsync(Name, signal, ct);

    /// <summary>The kill under a span of its own: hostd's signal span is its descendant.</summary>
    private async Task KillTracedAsync(string npid, int signal, CancellationToken ct)
    {
        using var activity = NefeleTelemetry.Source.StartActivity("nefele.kill", ActivityKind.Client);
        activity?.SetTag(Tracing.SpanAttributes.Tenant, Name);
        activity?.SetTag(Tracing.SpanAttributes.Npid, npid);
        activity?.SetTag(Tracing.SpanAttributes.Signal, signal);
        try
        {
            await Process(npid).SignalAsync(Name, signal, ct);
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            throw;
        }
    }

    /// <summary>The process's record; <see cref="ErrorCodes.NpidNotFound"/> when the tenant has none of that NPID.</summary>
    /// <param name="npid">The process.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Its state, node, pid, usage and end.</returns>
    public async Task<ProcessInfo> GetAsync(string npid, CancellationToken ct = default) =>
        await AcrossFailoverAsync(() => Process(npid).GetAsync(Name, ct), ct) ?? throw await MissingAsync(npid);

    /// <summary>
    /// Every live process of the tenant, on every node, with measured usage; with
    /// <paramref name="all"/> also those that ended recently (the last 1,000), as ps -a.
    /// </summary>
    /// <param name="all">Also the processes that ended recently.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The processes' records.</returns>
    public Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all = false, CancellationToken ct = default) =>
        AcrossFailoverAsync(() => _grains.GetGrain<ITenantGrain>(Name).PsAsync(all, ct), ct);

    /// <summary>The tenant's record: its uid and gid on every node, its quotas.</summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The record.</returns>
    public Task<TenantInfo> GetInfoAsync(CancellationToken ct = default) =>
        AcrossFailoverAsync(() => _grains.GetGrain<ITenantGrain>(Name).GetInfoAsync(ct), ct);

    /// <summary>Captured output from <paramref name="offset"/>; waits up to <paramref name="wait"/> for more when there is none yet.</summary>
    /// <param name="npid">The process.</param>
    /// <param name="offset">The byte of the output to start at (the previous chunk's <see cref="LogChunk.NextOffset"/>).</param>
    /// <param name="maxBytes">The most bytes to answer.</param>
    /// <param name="wait">How long to wait for output when there is none yet; zero: answer at once.</param>
    /// <param name="stream">Only this stream's output (<see cref="LogStream.All"/>: both, in the order hostd read them); offsets still count both.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The chunk; <see cref="LogChunk.Complete"/> once the process has ended and all was read.</returns>
    public async Task<LogChunk> ReadLogsAsync(string npid, long offset = 0, int maxBytes = Limits.DefaultLogReadBytes, TimeSpan wait = default, LogStream stream = LogStream.All, CancellationToken ct = default) =>
        await Process(npid).ReadLogsAsync(Name, offset, maxBytes, wait, stream, ct) ?? throw await MissingAsync(npid);

    /// <summary>The process's output as it is kept, then (when following) as it is written, until it ends.</summary>
    /// <param name="npid">The process.</param>
    /// <param name="follow">Keep reading as the process writes, until it ends; false: what is kept now.</param>
    /// <param name="stream">Only this stream's output (<see cref="LogStream.All"/>: both).</param>
    /// <param name="ct">Ends the stream.</param>
    /// <returns>The output, in pieces as they were read.</returns>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The query overload and the one-process overload differ in their first parameter's type, so no call is ambiguous.")]
    public async IAsyncEnumerable<byte[]> LogsAsync(string npid, bool follow, LogStream stream = LogStream.All, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var chunk in LogChunksAsync(npid, follow, 0, stream, ct))
        {
            if (chunk.Data.Length > 0)
            {
                yield return chunk.Data;
            }
        }
    }

    /// <summary>
    /// As <see cref="LogsAsync(string, bool, LogStream, CancellationToken)"/>, from byte <paramref name="offset"/> of the output, as chunks whose
    /// NextOffset is where to resume (the last one, Complete, may be empty). A call that fails because a silo went away (the gateway, or the
    /// one holding the process) is asked again from the last offset, so nothing is lost or repeated.
    /// </summary>
    /// <param name="npid">The process.</param>
    /// <param name="follow">Keep reading as the process writes, until it ends.</param>
    /// <param name="offset">The byte of the output to start at.</param>
    /// <param name="stream">Only this stream's output (<see cref="LogStream.All"/>: both); offsets still count both.</param>
    /// <param name="ct">Ends the stream.</param>
    /// <returns>The chunks, in order.</returns>
    public async IAsyncEnumerable<LogChunk> LogChunksAsync(string npid, bool follow, long offset = 0, LogStream stream = LogStream.All, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var failures = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            LogChunk chunk;
            using var call = GatewayGuard(ct);
            try
            {
                chunk = await ReadLogsAsync(npid, offset, wait: follow ? Limits.MaxLogWait : TimeSpan.Zero, stream: stream, ct: call.Token).WaitAsync(call.Token);
                failures = 0;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // A gateway was lost: the read may have been on it. Asked again from the same offset.
                continue;
            }
            catch (Exception e) when (IsTransient(e) && ++failures <= MaxTransientFailures)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000)), ct);
                continue;
            }

            // The last chunk (Complete) comes even when empty: its NextOffset is where the output ends.
            if (chunk.Data.Length > 0 || chunk.Complete)
            {
                yield return chunk;
            }

            offset = chunk.NextOffset;
            if (chunk.Complete || (!follow && chunk.Data.Length == 0))
            {
                yield break;
            }
        }
    }

    /// <summary>Cancelled by <paramref name="ct"/>, or when one of the connection's gateways is lost (SDK connections only).</summary>
    private CancellationTokenSource GatewayGuard(CancellationToken ct) =>
        _gatewayLoss is null ? CancellationTokenSource.CreateLinkedTokenSource(ct) : CancellationTokenSource.CreateLinkedTokenSource(ct, _gatewayLoss.Token);

    /// <summary>How many failed watch calls in a row a monitor rides out (about a minute with backoff).</summary>
    private const int MaxTransientFailures = 60;

    private static bool IsTransient(Exception e) => Transient.Is(e);

    /// <summary>How long a read rides out a node's failure (a little over the cluster's slowest declaration of a dead silo, a partition's).</summary>
    private static readonly TimeSpan ReadFailoverWindow = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A read (ps, get) whose grain was on a node that just failed is refused at once until the
    /// cluster has declared that silo dead (about a second; a partition, a few) and the grain
    /// activates elsewhere: such a read is asked again, with backoff, for up to
    /// <see cref="ReadFailoverWindow"/>, so ps answers through a node's failure as on one machine.
    /// Reads only: they change nothing, so asking twice is harmless. Other failures, and the last
    /// one, are thrown.
    /// </summary>
    private static async Task<T> AcrossFailoverAsync<T>(Func<Task<T>> read, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + ReadFailoverWindow;
        var backoff = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                return await read();
            }
            catch (Exception e) when (IsTransient(e) && !ct.IsCancellationRequested && DateTime.UtcNow + backoff < deadline)
            {
                await Task.Delay(backoff, ct);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
            }
        }
    }

    /// <summary>npid_not_found, with a hint when the tenant's retention collected the NPID.</summary>
    private async Task<NefeleException> MissingAsync(string npid) =>
        NefeleException.NotFound(npid, await _grains.GetGrain<ITenantGrain>(Name).CollectedHintAsync(npid));

    private IProcessGrain Process(string npid)
    {
        if (!Npid.IsWellFormed(npid))
        {
            throw NefeleException.NotFound(npid);
        }

        return _grains.GetGrain<IProcessGrain>(npid);
    }
}
