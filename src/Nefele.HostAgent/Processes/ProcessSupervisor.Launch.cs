using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Containers;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Logs;
using Nefele.HostAgent.Logs.Export;
using Nefele.HostAgent.Messaging;
using Nefele.Protocol;
using Nefele.Protocol.V1;
using Nefele.Tracing;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Processes;

/// <summary>Launch coordination: a launch's outcome decided once and reported to every connection that asked, in order with its exit; adoption of recovered processes.</summary>
public sealed partial class ProcessSupervisor
{
    /// <summary>
    /// Launches a process for <paramref name="connection"/>. Its LaunchReply (Started, Failed or
    /// Rejected) is queued there under <paramref name="requestId"/> by whichever thread decides
    /// it, the moment it is decided: for a handshake, as the hello is read, before the shim has
    /// its answer. With <paramref name="startHere"/> the process is started on the calling thread
    /// (held until exec: no hand-off before the clone); otherwise on the thread pool, so the
    /// caller can go on reading the requests queued behind this one.
    /// The launch is traced under <paramref name="traced"/> (the silo's span that asked for it).
    /// </summary>
    internal void Launch(LaunchRequest request, IControlConnection connection, ulong requestId, bool startHere, ActivityContext traced = default)
    {
        var spec = request.Spec ?? new ProcessSpec();
        var span = HostAgentSpans.StartDetached("nefele.hostd.launch", ActivityKind.Server, traced);
        if (span is not null)
        {
            span.SetTag(SpanAttributes.Npid, request.Npid);
            span.SetTag(SpanAttributes.Tenant, request.Tenant);
            span.SetTag(SpanAttributes.Node, options.Node);
            span.SetTag(SpanAttributes.Engine, options.Engine);
        }

        if (LaunchValidation.Validate(request) is { } problem)
        {
            HostAgentSpans.Fail(span, problem);
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected(problem) });
            return;
        }

        if (PostOffice.CheckBounds(spec) is { } bounds)
        {
            HostAgentSpans.Fail(span, bounds);
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected(bounds, ErrorCodes.BadRequest) });
            return;
        }

        var (rlimits, limitProblem) = limits.For(request);
        if (rlimits is null)
        {
            HostAgentSpans.Fail(span, limitProblem!);
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected(limitProblem!) });
            return;
        }

        if (spec.Tty && !engine.Capabilities.Terminal)
        {
            connection.Enqueue(new ControlEvent { Id = requestId, Launched = Rejected($"spawn rejected: --tty needs a node on the native engine; this node runs the {engine.Capabilities.Name} engine, which gives processes no terminal") });
            return;
        }

        var token = spec.NoHandshake ? null : LaunchTokens.Create();
        var p = new TrackedProcess(request.Npid, request.Tenant, spec, token, new ProcessIdentity(request.Uid, request.Gid, rlimits))
        {
            LaunchSpan = span,
            Trace = span?.Context ?? traced,
        };
        lock (gate)
        {
            // A retried launch (e.g. after the silo reconnected) gets the first one's answer.
            if (byNpid.TryGetValue(request.Npid, out var existing))
            {
                span?.Stop();
                if (existing.Launch.Task.IsCompleted)
                {
                    ReportLaunchLocked(existing, connection, requestId);
                }
                else
                {
                    existing.Waiters.Add((connection, requestId));
                }

                return;
            }

            byNpid[p.Npid] = p;
            if (token is not null)
            {
                tokens.Add(token, p);
            }

            // Before the process runs: it may be sent to (and receive) from its first instruction.
            Post.Open(p.Npid, p.Tenant, spec);

            p.Waiters.Add((connection, requestId));
        }

        _ = startHere ? RunLaunchAsync(p) : Task.Run(() => RunLaunchAsync(p));
    }

    /// <summary>Decides the launch's outcome (once) and queues it on every connection that asked.</summary>
    private bool CompleteLaunchLocked(TrackedProcess p, LaunchReply reply)
    {
        if (!p.Launch.TrySetResult(reply))
        {
            return false;
        }

        EndLaunchSpans(p, reply);

        foreach (var (connection, id) in p.Waiters)
        {
            ReportLaunchLocked(p, connection, id);
        }

        p.Waiters.Clear();
        return true;
    }

    /// <summary>The handshake and launch spans end with the launch's decided outcome.</summary>
    private static void EndLaunchSpans(TrackedProcess p, LaunchReply reply)
    {
        if (p.LaunchSpan is not { } launch)
        {
            return;
        }

        var failure = reply.OutcomeCase switch
        {
            LaunchReply.OutcomeOneofCase.Rejected => reply.Rejected.Message,
            LaunchReply.OutcomeOneofCase.Failed => reply.Failed.Reason,
            _ => null,
        };
        if (p.Pid != 0)
        {
            launch.SetTag(SpanAttributes.ProcessPid, p.Pid);
        }

        if (failure is null)
        {
            p.HandshakeSpan?.Stop();
            launch.Stop();
        }
        else
        {
            HostAgentSpans.Fail(p.HandshakeSpan, failure);
            HostAgentSpans.Fail(launch, failure);
        }
    }

    /// <summary>Queues the decided LaunchReply; an exit already known follows it.</summary>
    private void ReportLaunchLocked(TrackedProcess p, IControlConnection connection, ulong requestId)
    {
        connection.Enqueue(new ControlEvent { Id = requestId, Launched = p.Launch.Task.Result });
        if (!p.LaunchReported)
        {
            p.LaunchReported = true;
            if (p.Exit is not null)
            {
                attached?.Enqueue(ExitEvent(p, p.Exit));
            }
        }
    }

    private async Task RunLaunchAsync(TrackedProcess p)
    {
        var spec = p.Spec;
        string? container = null;
        var env = new Dictionary<string, string>(spec.Env, StringComparer.Ordinal);
        env.TryAdd("PATH", DefaultPath);

        // The program continues the spawn's trace (W3C Trace Context's environment carrier);
        // a TRACEPARENT the spec sets itself is the caller's choice and wins.
        if (p.Trace != default && !env.ContainsKey("TRACEPARENT"))
        {
            env["TRACEPARENT"] = TraceContext.Format(p.Trace);
            var state = p.LaunchSpan?.TraceStateString ?? p.Trace.TraceState;
            if (!string.IsNullOrEmpty(state))
            {
                env.TryAdd("TRACESTATE", state);
            }
        }
        StartedProcess started;
        try
        {
            // The tenant's shared directory, and the image's root (unpacked once per node), before the
            // spawn. Without a container, a process from an image runs chrooted in its root, where it
            // sees hostd's socket, the shim and /shared at a container's fixed paths.
            var shared = tenantDirectories.Ensure(p.Tenant, p.Identity.Uid, p.Identity.Gid);
            var imageRoot = string.IsNullOrEmpty(spec.Image) ? null : await images.RootAsync(p.Tenant, spec.Image, stop.Token);
            p.ImageRoot = imageRoot;

            // With tenant containers on, a process from an image runs in its tenant's container for that image.
            container = imageRoot is not null && engine is ContainerEngine ? ContainerManager.NameFor(p.Tenant, imageRoot) : null;
            p.Container = container;
            var paths = imageRoot is null ? ProcessPaths.For(container, options) : ProcessPaths.InContainer;
            env[Nefele.Shared.SharedDirectory.EnvironmentVariable] = imageRoot is null && container is null ? shared : Nefele.Shared.SharedDirectory.ContainerPath;
            env["NEFELE_SOCKET"] = paths.ApiSocket;
            if (p.Token is not null)
            {
                env["NEFELE_TOKEN"] = p.Token;
                env["LD_PRELOAD"] = env.TryGetValue("LD_PRELOAD", out var preload) && preload.Length > 0
                    ? paths.Shim + ":" + preload
                    : paths.Shim;
            }

            var launch = new LaunchSpec(
                p.Npid, p.Tenant, spec.Path, [.. spec.Args], env,
                string.IsNullOrEmpty(spec.Cwd) ? "/" : spec.Cwd,
                new CgroupLimits(spec.CpuMillis, spec.MemoryBytes),
                p.Identity,
                paths,
                container,
                imageRoot)
            {
                Tty = spec.Tty,
            };
            SpawnTrace.Mark("h.start_call", p.Npid);
            var launchContext = p.LaunchSpan?.Context ?? default;
            using var starting = p.LaunchSpan is null ? null : HostAgentSpans.StartDetached("nefele.hostd.start", ActivityKind.Internal, launchContext);
            if (p.Token is not null && p.LaunchSpan is not null)
            {
                // Ends when the shim's hello arrives (or the launch fails): exec, the dynamic loader, the shim's connect.
                p.HandshakeSpan = HostAgentSpans.StartDetached("nefele.hostd.handshake", ActivityKind.Internal, launchContext);
            }

            started = await engine.StartAsync(launch, stop.Token);
            starting?.SetTag(SpanAttributes.ProcessPid, started.Pid);
            SpawnTrace.Mark("h.start_ret", p.Npid);
        }
        catch (Exception e)
        {
            var (code, message) = e is SpawnRejectedException refused ? (refused.Code, refused.Message) : (ErrorCodes.SpawnRejected, $"spawn rejected: {e.Message}");
            lock (gate)
            {
                byNpid.Remove(p.Npid);
                if (p.Token is not null)
                {
                    tokens.Drop(p.Token);
                }

                CompleteLaunchLocked(p, Rejected(message, code));
            }

            Post.Close(p.Npid);
            ReleaseImage(p);

            p.Spawned.TrySetResult(0);
            return;
        }

        var log = new ProcessLog(options.LogDirectory, p.Npid, options.LogLimitBytes, exports, exports.Any ? OriginOf(p, started.Pid) : null);
        log.StartReader(started.Output, started.ErrorOutput);
        lock (gate)
        {
            p.Id = started.Id;
            p.Pid = started.Pid;
            p.StartedUnixMs = started.StartedUnixMs;
            p.Log = log;
            p.Terminal = started.Terminal;
            byId[started.Id] = p;
            byPid[p.Pid] = p;
            if (p.Token is null)
            {
                MarkRunningLocked(p);
            }

            if (earlyExits.Remove(started.Id, out var early))
            {
                ForgetLiveLocked(p);
                _ = Task.Run(() => OnExitAsync(p, early));
            }
        }

        p.Spawned.TrySetResult(p.Pid);
        if (p.Token is null)
        {
            return;
        }

        try
        {
            await p.Launch.Task.WaitAsync(options.HandshakeTimeout, stop.Token);
        }
        catch (TimeoutException)
        {
            var seconds = options.HandshakeTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
            var failed = Failed(p, $"no handshake within {seconds}s: the program did not load libnefele-shim.so (a static binary?); spawn it with no_handshake to run it without the handshake");
            bool timedOut;
            lock (gate)
            {
                timedOut = CompleteLaunchLocked(p, failed);
                if (timedOut)
                {
                    // The token dies with the launch: a late hello must not revive it.
                    tokens.Retire(p.Token);
                }
            }

            if (timedOut)
            {
                await engine.SignalAsync(p.Id!.Value, Interop.LibC.SIGKILL, SignalTarget.MainProcess, CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Whose output a process's log exports: its spawn context is its TRACEPARENT (the spec's own, or hostd's launch span).</summary>
    private OutputOrigin OriginOf(TrackedProcess p, int pid)
    {
        var trace = SpecTrace(p.Spec);
        return new OutputOrigin(p.Npid, p.Tenant, p.Spec.Name, Path.GetFileName(p.Spec.Path), options.Node, pid, trace == default ? p.Trace : trace);
    }

    private static ActivityContext SpecTrace(ProcessSpec spec) =>
        spec.Env.TryGetValue("TRACEPARENT", out var traceparent) && ActivityContext.TryParse(traceparent, null, out var context) ? context : default;

    /// <summary>
    /// Takes in the processes the engine re-adopted at start-up as running ones, so the next
    /// AttachReply lists them and the control plane keeps them; their exits come as any other's.
    /// </summary>
    public void Adopt(IReadOnlyList<RecoveredProcess> recovered)
    {
        foreach (var r in recovered)
        {
            var spec = r.Spec ?? new ProcessSpec();
            var p = new TrackedProcess(r.Npid, r.Tenant, spec, null, new ProcessIdentity(r.Uid, r.Gid, []))
            {
                Id = r.Process.Id,
                Pid = r.Process.Pid,
                StartedUnixMs = r.Process.StartedUnixMs,
                Log = new ProcessLog(options.LogDirectory, r.Npid, options.LogLimitBytes, exports,
                    exports.Any ? new OutputOrigin(r.Npid, r.Tenant, spec.Name, Path.GetFileName(spec.Path), options.Node, r.Process.Pid, SpecTrace(spec)) : null),
                LaunchReported = true,
            };
            p.Log.StartReader(r.Process.Output, r.Process.ErrorOutput);
            lock (gate)
            {
                if (!byNpid.TryAdd(p.Npid, p))
                {
                    logger.LogWarning("Recovered {Npid} twice: the second ({Id}) is ignored", p.Npid, p.Id);
                    continue;
                }

                Post.Open(p.Npid, p.Tenant, spec);
                byId[r.Process.Id] = p;
                byPid[p.Pid] = p;
                MarkRunningLocked(p);
                if (earlyExits.Remove(r.Process.Id, out var early))
                {
                    ForgetLiveLocked(p);
                    _ = Task.Run(() => OnExitAsync(p, early));
                }
            }

            p.Spawned.TrySetResult(p.Pid);
            logger.LogInformation("Recovered {Npid} (pid {Pid}) of tenant {Tenant}", p.Npid, p.Pid, p.Tenant);
        }
    }

    private void MarkRunningLocked(TrackedProcess p)
    {
        if (p.Launch.Task.IsCompleted)
        {
            return;
        }

        p.Running = true;
        CompleteLaunchLocked(p, new LaunchReply { Started = new Started { Pid = p.Pid, StartedUnixMs = p.StartedUnixMs, Container = p.Container ?? string.Empty } });
        HostAgentTelemetry.ProcessStarts.Add(1);
    }
}
