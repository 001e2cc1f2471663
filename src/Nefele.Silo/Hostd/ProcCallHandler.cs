using System.Diagnostics;
using Google.Protobuf;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Nefele.Protocol;
using Nefele.Protocol.V1;
using Nefele.Tracing;
using Nefele.Validation;

namespace Nefele.Silo.Hostd;

/// <summary>
/// Answers the API calls user processes make on hostd's socket (libnefele, nef inside a
/// process). hostd has already established who called; the tenant scopes everything.
/// </summary>
internal sealed class ProcCallHandler(IGrainFactory grains, LogQueryCursors logQueries, ILogger<ProcCallHandler> logger)
{
    public async Task<ProcResponse> HandleAsync(ProcCall call)
    {
        var request = call.Request;
        var tenant = new NefeleTenant(grains, call.Tenant);
        var response = new ProcResponse { Id = request.Id };
        try
        {
            switch (request.BodyCase)
            {
                case ProcRequest.BodyOneofCase.Spawn:
                    response.Spawn = await SpawnAsync(tenant, call);
                    break;
                case ProcRequest.BodyOneofCase.Monitor:
                    var end = await tenant.WaitAsync(request.Monitor.Npid);
                    response.Monitor = new MonitorReply { Npid = request.Monitor.Npid, End = ProtoMapping.ToProto(end) };
                    break;
                case ProcRequest.BodyOneofCase.Kill:
                    using (Traced("nefele.process_api.kill", call, request.Kill.Traceparent, request.Kill.Tracestate))
                    {
                        foreach (var npid in request.Kill.Npids)
                        {
                            await tenant.KillAsync(npid, request.Kill.Signal == 0 ? Signals.SigTerm : request.Kill.Signal);
                        }
                    }

                    response.Kill = new KillReply();
                    break;
                case ProcRequest.BodyOneofCase.Ps:
                    response.Ps = new PsReply();
                    response.Ps.Processes.AddRange((await tenant.PsAsync(request.Ps.All)).Select(ProtoMapping.ToProto));
                    break;
                case ProcRequest.BodyOneofCase.Logs:
                    var logs = request.Logs;
                    var wait = TimeSpan.FromMilliseconds(Math.Max(0, logs.WaitMs));
                    var chunk = await tenant.ReadLogsAsync(logs.Npid, logs.Offset, logs.MaxBytes is > 0 and <= Limits.MaxLogReadBytes ? logs.MaxBytes : Limits.DefaultLogReadBytes, wait: wait < Limits.MaxLogWait ? wait : Limits.MaxLogWait, stream: (Nefele.Client.LogStream)logs.Stream);
                    response.Logs = new LogsReply { Data = ByteString.CopyFrom(chunk.Data), NextOffset = chunk.NextOffset, Complete = chunk.Complete };
                    break;
                case ProcRequest.BodyOneofCase.LogsQuery:
                    response.LogsQuery = await LogsQueryAsync(tenant, call.Tenant, request.LogsQuery);
                    break;
                // Names: the caller is the default holder. wait_name and names are hostd's (its copy
                // of the tables); they are answered here too, from the name service, for a hostd
                // that forwards them.
                case ProcRequest.BodyOneofCase.Register:
                    response.Register = new RegisterReply();
                    response.Register.Npids.AddRange(await tenant.RegisterAsync(request.Register.Name, HolderOrCaller(request.Register.Npid, call)));
                    break;
                case ProcRequest.BodyOneofCase.Unregister:
                    await tenant.UnregisterAsync(request.Unregister.Name, HolderOrCaller(request.Unregister.Npid, call));
                    response.Unregister = new UnregisterReply();
                    break;
                case ProcRequest.BodyOneofCase.Subscribe:
                    await tenant.SubscribeAsync(request.Subscribe.Topic, HolderOrCaller(request.Subscribe.Npid, call));
                    response.Subscribe = new SubscribeReply();
                    break;
                case ProcRequest.BodyOneofCase.Unsubscribe:
                    await tenant.UnsubscribeAsync(request.Unsubscribe.Topic, HolderOrCaller(request.Unsubscribe.Npid, call));
                    response.Unsubscribe = new UnsubscribeReply();
                    break;
                case ProcRequest.BodyOneofCase.WaitName:
                    var waited = await tenant.WaitForNameAsync(request.WaitName.Name, TimeSpan.FromMilliseconds(Math.Clamp(request.WaitName.TimeoutMs, 0, (int)Limits.MaxMessagingWait.TotalMilliseconds)));
                    response.WaitName = new WaitNameReply();
                    response.WaitName.Npids.AddRange(waited.Select(h => h.Npid));
                    break;
                case ProcRequest.BodyOneofCase.Names:
                    var entries = request.Names.Topics
                        ? await tenant.ListTopicsAsync(request.Names.Prefix)
                        : await tenant.ListNamesAsync(request.Names.Prefix);
                    response.Names = new NamesReply();
                    response.Names.Names.AddRange(entries.Select(Naming.NameTableProto.ToProto));
                    break;
                default:
                    response.Error = new Protocol.V1.Error { Code = ErrorCodes.BadRequest, Message = $"unsupported request {request.BodyCase}" };
                    break;
            }
        }
        catch (NefeleException e)
        {
            response.Error = new Protocol.V1.Error { Code = e.Code, Message = e.Message };
        }
        catch (Exception e)
        {
            logger.LogError(e, "Call {Kind} from {Caller} failed", request.BodyCase, call.CallerNpid);
            response.Error = new Protocol.V1.Error { Code = ErrorCodes.InternalError, Message = e.Message };
        }

        return response;
    }

    /// <summary>
    /// The tenant's output through a cursor (LogsQueryRequest): a request without a cursor opens the
    /// SDK's query with its filters, one with a cursor continues (or closes) that query of this tenant.
    /// </summary>
    private async Task<LogsQueryReply> LogsQueryAsync(NefeleTenant tenant, string tenantName, LogsQueryRequest request)
    {
        if (request.Close)
        {
            if (request.Cursor.Length == 0)
            {
                throw NefeleException.Bad("close needs the cursor of the query to end");
            }

            await logQueries.CloseAsync(tenantName, request.Cursor);
            return new LogsQueryReply { Complete = true };
        }

        var limits = ProtoMapping.FromProto(request);
        LogQueryBatch batch;
        if (request.Cursor.Length == 0)
        {
            var query = ProtoMapping.ToLogQuery(request);
            batch = await logQueries.OpenAsync(tenantName, query.Follow, ct => tenant.LogsAsync(query, ct), limits);
        }
        else
        {
            batch = await logQueries.NextAsync(tenantName, request.Cursor, limits);
        }

        var reply = new LogsQueryReply { Cursor = batch.Cursor ?? string.Empty, Complete = batch.Cursor is null };
        reply.Records.AddRange(batch.Records.Select(ProtoMapping.ToProto));
        return reply;
    }

    /// <summary>The holder a names call gives, else the calling process.</summary>
    private static string HolderOrCaller(string npid, ProcCall call) => string.IsNullOrEmpty(npid) ? call.CallerNpid : npid;

    /// <summary>A spawn from inside a process, continuing the caller's trace (SpawnRequest.traceparent).</summary>
    private static async Task<SpawnReply> SpawnAsync(NefeleTenant tenant, ProcCall call)
    {
        var spawn = call.Request.Spawn;
        using var traced = Traced("nefele.process_api.spawn", call, spawn.Traceparent, spawn.Tracestate);
        var result = await tenant.SubmitAsync(
            new Nefele.Client.SpawnRequest
            {
                Tasks = spawn.Tasks.Select(ProtoMapping.FromProto).ToArray(),
                Count = spawn.Count == 0 ? 1 : (int)spawn.Count,
                Spread = spawn.Spread,
                AllowPartial = spawn.AllowPartial,
                Parent = string.IsNullOrEmpty(call.CallerNpid) ? null : call.CallerNpid,
            },
            string.IsNullOrEmpty(spawn.RequestId) ? null : spawn.RequestId);
        var reply = new SpawnReply();
        reply.Npids.AddRange(result.Npids);
        return reply;
    }

    /// <summary>
    /// A span for a process's call that names a trace context (its TRACEPARENT: it continues its own
    /// spawn's trace, or whatever the program made current); none when it names none or nothing listens.
    /// </summary>
    private static Activity? Traced(string name, ProcCall call, string traceparent, string tracestate)
    {
        if (traceparent.Length == 0)
        {
            return null;
        }

        var activity = Nefele.Telemetry.Source.StartActivity(name, ActivityKind.Server, TraceContext.Parent(traceparent, tracestate));
        activity?.SetTag(SpanAttributes.Tenant, call.Tenant);
        activity?.SetTag(SpanAttributes.Npid, call.CallerNpid);
        return activity;
    }
}
