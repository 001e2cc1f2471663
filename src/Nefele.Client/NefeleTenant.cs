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
public sealed class NefeleTenant
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

    public NefeleTenant(IGrainFactory grains, string tenant)
        : this(grains, tenant, null)
    {
    }

    internal NefeleTenant(IGrainFactory grains, string tenant, GatewayLoss? gatewayLoss)
    {
        Names.ValidateTenantName(tenant);
        _grains = grains;
        _gatewayLoss = gatewayLoss;
        Name = tenant;
    }

    public string Name { get; }

    /// <summary>Spawns one process; returns its NPID once it is Running (or has failed to start).</summary>
    public async Task<string> SpawnAsync(ProcessSpec spec, string? requestId = null, string? parent = null)
    {
        var result = await SubmitAsync(new SpawnRequest { Tasks = [spec], Count = 1, Parent = parent }, requestId);
        return result.Npids[0];
    }

    /// <summary>Spawns <paramref name="count"/> identical processes, all or nothing unless <paramref name="allowPartial"/>.</summary>
    public async Task<IReadOnlyList<string>> NSpawnAsync(int count, ProcessSpec spec, bool allowPartial = false, string? requestId = null, string? parent = null) =>
        (await SubmitAsync(new SpawnRequest { Tasks = [spec], Count = count, AllowPartial = allowPartial, Parent = parent }, requestId)).Npids;

    /// <summary>Spawns a set of different processes, all or nothing unless <paramref name="allowPartial"/>.</summary>
    public async Task<IReadOnlyList<string>> CSpawnAsync(IReadOnlyList<ProcessSpec> specs, bool allowPartial = false, string? requestId = null, string? parent = null) =>
        (await SubmitAsync(new SpawnRequest { Tasks = specs, Count = 1, AllowPartial = allowPartial, Parent = parent }, requestId)).Npids;

    /// <summary>
    /// Submits a request as given; the request id (<paramref name="requestId"/>, else the request's own)
    /// makes retries idempotent (a new one is made when both are null).
    /// </summary>
    public Task<SpawnResult> SubmitAsync(SpawnRequest request, string? requestId = null)
    {
        var key = GrainKeys.PlacementRequest(Name, requestId ?? request.RequestId ?? Guid.NewGuid().ToString("N"));
        SpecValidator.Validate(request);
        return _grains.GetGrain<IPlacementRequestGrain>(key).SubmitAsync(request);
    }

    /// <summary>
    /// Every state transition of the process from <paramref name="afterSeq"/> on, each exactly once,
    /// ending after the terminal one (Exited, FailedToStart, Lost).
    /// </summary>
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
                watched = await relay.WatchAsync(Name, afterSeq, WatchPoll).WaitAsync(WatchAnswerBound, call.Token);
                if (watched is { Count: 0 })
                {
                    // Nothing new: has it ended (or gone)? Asked here, so a silo stopping meanwhile is retried too.
                    info = await process.GetAsync(Name).WaitAsync(WatchAnswerBound, call.Token);
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

    public Task KillAsync(string npid, int signal = Signals.SigTerm) => Process(npid).SignalAsync(Name, signal);

    public async Task<ProcessInfo> GetAsync(string npid) =>
        await Process(npid).GetAsync(Name) ?? throw await MissingAsync(npid);

    /// <summary>
    /// Every live process of the tenant, on every node, with measured usage; with
    /// <paramref name="all"/> also those that ended recently (the last 1,000), as ps -a.
    /// </summary>
    public Task<IReadOnlyList<ProcessInfo>> PsAsync(bool all = false) => _grains.GetGrain<ITenantGrain>(Name).PsAsync(all);

    /// <summary>The tenant's record: its uid and gid on every node, its quotas.</summary>
    public Task<TenantInfo> GetInfoAsync() => _grains.GetGrain<ITenantGrain>(Name).GetInfoAsync();

    /// <summary>Captured output from <paramref name="offset"/>; waits up to <paramref name="wait"/> for more when there is none yet.</summary>
    public async Task<LogChunk> ReadLogsAsync(string npid, long offset = 0, int maxBytes = 256 * 1024, TimeSpan wait = default) =>
        await Process(npid).ReadLogsAsync(Name, offset, maxBytes, wait) ?? throw await MissingAsync(npid);

    /// <summary>The process's output as it is kept, then (when following) as it is written, until it ends.</summary>
    public async IAsyncEnumerable<byte[]> LogsAsync(string npid, bool follow, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var chunk in LogChunksAsync(npid, follow, 0, ct))
        {
            if (chunk.Data.Length > 0)
            {
                yield return chunk.Data;
            }
        }
    }

    /// <summary>
    /// As <see cref="LogsAsync"/>, from byte <paramref name="offset"/> of the output, as chunks whose
    /// NextOffset is where to resume (the last one, Complete, may be empty). A call that fails because a silo went away (the gateway, or the
    /// one holding the process) is asked again from the last offset, so nothing is lost or repeated.
    /// </summary>
    public async IAsyncEnumerable<LogChunk> LogChunksAsync(string npid, bool follow, long offset = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            LogChunk chunk;
            using var call = GatewayGuard(ct);
            try
            {
                chunk = await ReadLogsAsync(npid, offset, wait: follow ? TimeSpan.FromSeconds(10) : TimeSpan.Zero).WaitAsync(call.Token);
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
