using Nefele.HostAgent.Control;
using Nefele.Protocol.V1;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// API calls of processes that only the silo can answer (spawn, kill, monitor, names, …): each
/// goes up as a ProcCall on the attached connection and waits for its ProcCallReply; the
/// silo's disconnect fails the calls still waiting.
/// </summary>
internal sealed class SiloCalls
{
    private readonly Lock gate = new();
    private readonly Dictionary<ulong, TaskCompletionSource<ProcResponse>> waiting = [];
    private IControlConnection? connection;
    private ulong nextCallId;

    public void Attach(IControlConnection attached)
    {
        lock (gate)
        {
            connection = attached;
        }
    }

    /// <summary>The connection is gone: calls waiting on it are answered control_plane_unavailable.</summary>
    public void Detach(IControlConnection detached)
    {
        List<TaskCompletionSource<ProcResponse>> orphaned;
        lock (gate)
        {
            if (!ReferenceEquals(connection, detached))
            {
                return;
            }

            connection = null;
            orphaned = [.. waiting.Values];
            waiting.Clear();
        }

        foreach (var call in orphaned)
        {
            call.TrySetResult(ProcessSupervisor.ErrorResponse(ErrorCodes.ControlPlaneUnavailable, "the silo disconnected before answering"));
        }
    }

    /// <summary>Forwards a process's API call to the attached silo and waits for its answer.</summary>
    public async Task<ProcResponse> ForwardAsync(string tenant, string callerNpid, ProcRequest request, CancellationToken ct)
    {
        var answer = new TaskCompletionSource<ProcResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        ulong callId;
        lock (gate)
        {
            if (connection is null)
            {
                return ProcessSupervisor.ErrorResponse(ErrorCodes.ControlPlaneUnavailable, "no silo is attached to this node's hostd");
            }

            callId = ++nextCallId;
            waiting[callId] = answer;
            connection.Enqueue(new ControlEvent
            {
                ProcCall = new ProcCall { CallId = callId, Tenant = tenant, CallerNpid = callerNpid, Request = request },
            });
        }

        using var registration = ct.Register(() =>
        {
            lock (gate)
            {
                waiting.Remove(callId);
            }

            answer.TrySetCanceled(ct);
        });
        return await answer.Task;
    }

    public void Complete(ProcCallReply reply)
    {
        TaskCompletionSource<ProcResponse>? answer;
        lock (gate)
        {
            waiting.Remove(reply.CallId, out answer);
        }

        answer?.TrySetResult(reply.Response ?? ProcessSupervisor.ErrorResponse(ErrorCodes.InternalError, "the silo sent an empty answer"));
    }
}
