using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Logs;
using Nefele.Protocol;
using Nefele.Protocol.V1;
using Nefele.Tracing;

namespace Nefele.HostAgent.Processes;

/// <summary>Exits: each reported once, after its launch reply, and forgotten when the silo acknowledges it.</summary>
public sealed partial class ProcessSupervisor
{
    private async Task ExitLoopAsync()
    {
        try
        {
            await foreach (var exit in engine.ExitsAsync(stop.Token))
            {
                TrackedProcess? p;
                lock (gate)
                {
                    if (byId.TryGetValue(exit.Id, out p) && p.Exit is null)
                    {
                        ForgetLiveLocked(p);
                    }
                    else
                    {
                        earlyExits[exit.Id] = exit;
                    }
                }

                // Run on the reaper's thread up to the first wait (for output still draining).
                if (p is not null)
                {
                    SpawnTrace.Mark("h.exit_loop", p.Npid);
                    _ = OnExitAsync(p, exit);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task OnExitAsync(TrackedProcess p, ProcessExit exit)
    {
        // The mailbox ends with the process, before its end is reported: whoever hears of the end
        // and then sends to it is told it has ended.
        Post.Close(p.Npid);
        var log = p.Log!;
        if (!log.Drained.IsCompleted)
        {
            try
            {
                await log.Drained.WaitAsync(DrainGrace);
            }
            catch (TimeoutException)
            {
            }
        }

        log.MarkEnded();

        // Its output has been read to the end (or the grace is over): the terminal's master goes.
        p.Terminal?.Dispose();
        var end = new ProcessEnd
        {
            State = ProcessState.Exited,
            ExitCode = exit.ExitCode,
            Signal = exit.Signal,
            CoreDumped = exit.CoreDumped,
            OomKilled = exit.OomKilled,
            EndedUnixMs = exit.EndedUnixMs,
        };
        var exited = new ProcessExited { Npid = p.Npid, Tenant = p.Tenant, Pid = p.Pid, End = end, Spec = p.Spec, StartedUnixMs = p.StartedUnixMs };
        bool failedStart;
        lock (gate)
        {
            var reason = p.RefusalReason is not null && exit.ExitCode == 121
                ? $"handshake refused: {p.RefusalReason}"
                : $"{Describe(exit)} before the handshake{LastLineSuffix(log)}";
            failedStart = !p.Running;
            if (failedStart)
            {
                // Failed starts end with the LaunchReply: nothing is kept for the silo to ack.
                CompleteLaunchLocked(p, Failed(p, reason));
                byNpid.Remove(p.Npid);
                ForgetIdLocked(p);
                if (p.Token is not null)
                {
                    tokens.Retire(p.Token);
                }
            }
            else
            {
                p.Exit = exited;
                HostAgentTelemetry.ProcessExits.Add(1);
                if (p.LaunchReported)
                {
                    SpawnTrace.Mark("h.exit_enq", p.Npid);
                    attached?.Enqueue(ExitEvent(p, exited));
                }
            }
        }

        logger.LogInformation("{Npid} (pid {Pid}) ended: {Exit}", p.Npid, p.Pid, Describe(exit));
        if (failedStart)
        {
            log.Delete();
            ReleaseImage(p);
            await engine.ReleaseAsync(p.Id!.Value);
        }
    }

    /// <summary>The process is forgotten: its image root may be evicted once nothing else uses it.</summary>
    private void ReleaseImage(TrackedProcess p)
    {
        if (p.ImageRoot is { } root)
        {
            p.ImageRoot = null;
            images.Release(root);
        }
    }

    /// <summary>The process's end is settled (acknowledged, or a failed start): its id goes.</summary>
    /// <summary>
    /// The exit as an event for the silo. When traced, it starts a trace of its own (a process may
    /// run for days: its end is not part of its spawn's trace) linked to the spawn's, and the
    /// silo's notification of the monitors continues it.
    /// </summary>
    private ControlEvent ExitEvent(TrackedProcess p, ProcessExited exited)
    {
        var ev = new ControlEvent { Exited = exited };
        using var span = HostAgentSpans.StartDetached(
            "nefele.hostd.exit", ActivityKind.Producer, default, p.Trace == default ? null : [new ActivityLink(p.Trace)]);
        if (span is not null)
        {
            span.SetTag(SpanAttributes.Npid, p.Npid);
            span.SetTag(SpanAttributes.Tenant, p.Tenant);
            span.SetTag(SpanAttributes.Node, options.Node);
            span.SetTag(SpanAttributes.ProcessPid, p.Pid);
            span.SetTag("process.exit.code", exited.End.ExitCode);
            TraceContext.Stamp(ev, span);
        }

        return ev;
    }

    private void ForgetIdLocked(TrackedProcess p)
    {
        if (p.Id is { } id && byId.TryGetValue(id, out var q) && ReferenceEquals(q, p))
        {
            byId.Remove(id);
        }
    }

    /// <summary>The process has exited: its pid may be reused, so it no longer names it.</summary>
    private void ForgetLiveLocked(TrackedProcess p)
    {
        if (byPid.TryGetValue(p.Pid, out var q) && ReferenceEquals(q, p))
        {
            byPid.Remove(p.Pid);
        }
    }

    /// <summary>
    /// Forgets an acknowledged exit: its record, and the engine frees its cgroup or unit. Its
    /// output stays readable among the last <see cref="HostAgentOptions.EndedLogsKept"/> ended processes.
    /// </summary>
    public void AckExit(string npid)
    {
        TrackedProcess? p = null;
        var dropped = new List<ProcessLog>();
        lock (gate)
        {
            if (byNpid.TryGetValue(npid, out var candidate) && candidate.Exit is not null)
            {
                byNpid.Remove(npid);
                p = candidate;
                ForgetIdLocked(p);
                if (p.Log is not null)
                {
                    endedLogs.Add(npid, p.Log, dropped);
                }
            }
        }

        foreach (var log in dropped)
        {
            log.Delete();
        }

        if (p is not null)
        {
            ReleaseImage(p);
        }

        if (p?.Id is { } id)
        {
            // The native engine's release is synchronous; an engine that must wait does so on its own.
            _ = engine.ReleaseAsync(id).AsTask();
        }
    }
}
