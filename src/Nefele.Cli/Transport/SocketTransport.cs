using Nefele.Cli.Parsing;
using Nefele.InProcess;
using Nefele.Protocol.V1;
using Message = Nefele.Protocol.V1.Message;
using NameEntry = Nefele.Protocol.V1.NameEntry;
using NameHolder = Nefele.Protocol.V1.NameHolder;
using DeliveryMode = Nefele.Protocol.V1.DeliveryMode;

namespace Nefele.Cli.Transport;

/// <summary>
/// Talks to hostd's api socket (NEFELE_SOCKET), from inside a Nefele process, through the in-process
/// library (<see cref="NefeleProcess"/>: one connection, requests in flight together, replies matched by
/// id). hostd knows the caller's tenant from the peer's credentials, so no tenant is sent.
/// </summary>
internal sealed class SocketTransport : INefeleTransport
{
    /// <summary>Largest slice of output asked for per logs call.</summary>
    public const int LogsChunkBytes = 64 * 1024;

    /// <summary>The socket protocol has no wait for new output, so logs -f polls this often.</summary>
    public static readonly TimeSpan LogsPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long one request of a followed log query waits for records: the silo's bound (10 s).</summary>
    private const int LogsQueryWaitMs = 10_000;

    private readonly NefeleProcess process;

    public SocketTransport(string path)
    {
        process = new NefeleProcess(path);
    }

    /// <summary>The in-process library's calls, for the messaging commands.</summary>
    public NefeleProcess Process => process;

    public Task<SpawnOutcome> SpawnAsync(SpawnBatch batch, CancellationToken ct)
    {
        if (batch.AllowPartial)
        {
            throw new UsageException("--partial is not available inside a Nefele process (the api socket has no partial spawn)");
        }

        var spawn = new SpawnRequest { Count = (uint)batch.Count, RequestId = batch.RequestId ?? string.Empty, Spread = batch.Spread };
        foreach (var task in batch.Tasks)
        {
            var spec = new ProcessSpec
            {
                Path = task.Path,
                Cwd = task.Cwd ?? string.Empty,
                CpuMillis = task.CpuMillis,
                MemoryBytes = task.MemoryBytes,
                Name = task.Name ?? string.Empty,
                NoHandshake = task.NoHandshake,
                Image = task.Image ?? string.Empty,
                Tty = task.Tty,
            };
            spec.Args.AddRange(task.Args);
            spec.Affinity.AddRange(task.Affinity);
            spec.AntiAffinity.AddRange(task.AntiAffinity);
            foreach (var (name, count) in task.Devices)
            {
                spec.Devices[name] = count;
            }

            foreach (var (key, value) in task.Env)
            {
                spec.Env[key] = value;
            }

            foreach (var (name, value) in task.Rlimits)
            {
                spec.Rlimits[name] = value;
            }

            spawn.Tasks.Add(spec);
        }

        return Call(async () => new SpawnOutcome([.. await process.SubmitAsync(spawn, ct).ConfigureAwait(false)], 0, null));
    }

    public Task<IReadOnlyList<Nefele.Client.ProcessInfo>> PsAsync(bool all, CancellationToken ct) =>
        Call<IReadOnlyList<Nefele.Client.ProcessInfo>>(async () => [.. (await process.PsAsync(all, ct).ConfigureAwait(false)).Select(ProtoMapping.ToInfo)]);

    public Task<Nefele.Client.ProcessEnd> MonitorAsync(string npid, CancellationToken ct) =>
        Call(async () => ProtoMapping.ToEnd(await process.MonitorAsync(npid, ct).ConfigureAwait(false)));

    public Task KillAsync(IReadOnlyList<string> npids, int signal, CancellationToken ct) =>
        Call(async () =>
        {
            await process.KillAsync(npids, signal, ct).ConfigureAwait(false);
            return true;
        });

    /// <summary>hostd's api socket reads one process's output at a time: filters over many need the REST API.</summary>
    /// <summary>
    /// The tenant's logs through the process API's log query: the silo runs the SDK's query and this
    /// reads it batch by batch through its cursor (a follower waits up to 10 s a request), closing it
    /// when the caller stops early.
    /// </summary>
    public async Task QueryLogsAsync(Commands.LogsFilter filter, Func<Nefele.Api.LogRecordEvent, ValueTask> onRecord, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow;
        var request = new LogsQueryRequest
        {
            Name = filter.Name ?? string.Empty,
            Node = filter.Node ?? string.Empty,
            Stream = (Nefele.Protocol.V1.LogStream)filter.Stream,
            SinceUnixNano = filter.Since is { } since ? UnixNano(since, now, "since") : 0,
            UntilUnixNano = filter.Until is { } until ? UnixNano(until, now, "until") : 0,
            Follow = filter.Follow,
            WaitMs = filter.Follow ? LogsQueryWaitMs : 0,
        };
        request.Npids.AddRange(filter.Npids);

        var cursor = string.Empty;
        try
        {
            while (true)
            {
                var reply = await Call(() => process.QueryLogsAsync(request, ct)).ConfigureAwait(false);
                cursor = reply.Cursor;
                foreach (var record in reply.Records)
                {
                    await onRecord(Nefele.Api.LogRecordEvent.From(new Nefele.Client.LogEntry
                    {
                        Npid = record.Npid,
                        Name = record.Name.Length == 0 ? null : record.Name,
                        Node = record.Node.Length == 0 ? null : record.Node,
                        Stream = (Nefele.Client.LogStream)record.Stream,
                        TimeUnixNano = record.TimeUnixNano,
                        Offset = record.Offset,
                        Data = record.Data.ToByteArray(),
                    })).ConfigureAwait(false);
                }

                if (reply.Complete)
                {
                    cursor = string.Empty;
                    return;
                }

                request = new LogsQueryRequest { Cursor = cursor, WaitMs = filter.Follow ? LogsQueryWaitMs : 0 };
            }
        }
        finally
        {
            if (cursor.Length > 0)
            {
                // Stopped early (cancelled, or the output failed): the silo would forget the query after a minute; this frees it now.
                try
                {
                    await process.QueryLogsAsync(new LogsQueryRequest { Cursor = cursor, Close = true }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NefeleProcessException or TimeoutException)
                {
                    // The query ends by itself after a minute without requests.
                }
            }
        }
    }

    /// <summary>A --since/--until bound in ns since the Unix epoch, with the grammar every door uses.</summary>
    private static long UnixNano(string text, DateTimeOffset now, string flag)
    {
        try
        {
            return Math.Max(1, Nefele.Validation.LogFilters.ToUnixNano(Nefele.Validation.LogFilters.ParseTime(text, now)));
        }
        catch (FormatException e)
        {
            throw new NefeleApiException($"--{flag}: {e.Message}") { Code = Nefele.Client.ErrorCodes.BadRequest };
        }
    }

    public async Task LogsAsync(string npid, bool follow, Stream output, CancellationToken ct, Nefele.Client.LogStream stream = Nefele.Client.LogStream.All)
    {
        long offset = 0;
        while (true)
        {
            var reply = await Call(() => process.ReadLogsAsync(npid, offset, LogsChunkBytes, TimeSpan.Zero, (Nefele.Protocol.V1.LogStream)stream, ct)).ConfigureAwait(false);
            if (!reply.Data.IsEmpty)
            {
                await output.WriteAsync(reply.Data.Memory, ct).ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }

            offset = reply.NextOffset;
            if (reply.Complete)
            {
                return;
            }

            if (reply.Data.IsEmpty)
            {
                // Caught up with a process that still runs: without -f that is everything kept so far.
                if (!follow)
                {
                    return;
                }

                await Task.Delay(LogsPollInterval, ct).ConfigureAwait(false);
            }
        }
    }

    public Task<int> SendAsync(string to, ReadOnlyMemory<byte> data, SendOptions options, CancellationToken ct) =>
        Call(() => process.SendAsync(to, data, options, ct));

    public Task<Message?> ReceiveAsync(TimeSpan timeout, string? tag, CancellationToken ct) =>
        Call(() => process.TryReceiveAsync(timeout, tag, ct));

    public Task<IReadOnlyList<string>> RegisterAsync(string name, string? npid, CancellationToken ct) =>
        Call(() => process.RegisterAsync(name, npid, ct));

    public Task UnregisterAsync(string name, string? npid, CancellationToken ct) =>
        Call(async () =>
        {
            await process.UnregisterAsync(name, npid, ct).ConfigureAwait(false);
            return true;
        });

    public async Task<IReadOnlyList<string>?> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            return await process.WaitForNameAsync(name, timeout, ct).ConfigureAwait(false);
        }
        catch (NefeleProcessException e) when (e.IsTimedOut)
        {
            return null;
        }
        catch (NefeleProcessException e)
        {
            throw new NefeleApiException(e.Message, e) { Code = e.Code };
        }
    }

    public Task<IReadOnlyList<NameEntry>> ListNamesAsync(string? prefix, bool topics, CancellationToken ct) =>
        Call(() => topics ? process.ListTopicsAsync(prefix, ct) : process.ListNamesAsync(prefix, ct));

    public Task SubscribeAsync(string topic, string? npid, CancellationToken ct) =>
        Call(async () =>
        {
            await process.SubscribeAsync(topic, npid, ct).ConfigureAwait(false);
            return true;
        });

    public Task UnsubscribeAsync(string topic, string? npid, CancellationToken ct) =>
        Call(async () =>
        {
            await process.UnsubscribeAsync(topic, npid, ct).ConfigureAwait(false);
            return true;
        });

    public ValueTask DisposeAsync() => process.DisposeAsync();

    /// <summary>Runs a call of the in-process library, its failures as nef's (hostd's sentence and code).</summary>
    public static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (NefeleProcessException e)
        {
            throw new NefeleApiException(e.Message, e) { Code = e.Code };
        }
    }
}
