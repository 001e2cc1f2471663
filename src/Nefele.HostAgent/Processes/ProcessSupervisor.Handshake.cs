using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Engines;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Processes;

/// <summary>Who is calling: a shim's hello checked against its launch token, and the Nefele process an api connection speaks for.</summary>
public sealed partial class ProcessSupervisor
{
    /// <summary>Answers a shim's hello: Welcome if the token is this peer's launch token (its pid and uid), else Refused.</summary>
    public async Task<ProcResponse> HelloAsync(Hello hello, int peerPid, uint peerUid, ulong requestId)
    {
        TrackedProcess? owner;
        lock (gate)
        {
            owner = tokens.Owner(hello.Token);
        }

        if (owner is not null)
        {
            // The shim can say hello before the spawn call has returned our side its pid.
            try
            {
                await owner.Spawned.Task.WaitAsync(options.HandshakeTimeout);
            }
            catch (TimeoutException)
            {
            }
        }

        string reason;
        lock (gate)
        {
            owner = tokens.Owner(hello.Token);
            if (owner is not null && owner.Pid == peerPid && owner.Identity.Uid == peerUid)
            {
                SpawnTrace.Mark("h.hello", $"{owner.Npid} pid{peerPid}");
                tokens.Retire(hello.Token);
                MarkRunningLocked(owner);
                return new ProcResponse { Id = requestId, Welcome = new Welcome { Npid = owner.Npid, Tenant = owner.Tenant, Node = options.Node } };
            }

            reason = tokens.RefusalReason(hello.Token);

            // One of our launches presenting a bad token: its exit (121) becomes a failed start with this reason.
            if (byPid.TryGetValue(peerPid, out var refused) && !refused.Launch.Task.IsCompleted)
            {
                refused.RefusalReason = reason;
            }
        }

        logger.LogInformation("Refused handshake from pid {Pid}: {Reason}", peerPid, reason);
        return new ProcResponse { Id = requestId, Refused = new Refused { Reason = reason } };
    }

    /// <summary>
    /// The live Nefele process a connection on the api socket speaks for: the process itself or
    /// one of its descendants, found by the engine (<see cref="IProcessOwnership"/>: the cgroup or
    /// unit the peer lives in, which a process cannot leave), never by the pids it claims or by
    /// walking parent pids, which can be reused. The answer
    /// stands only if the peer, named by <paramref name="pidfd"/> (taken when it connected), is
    /// still alive after /proc was read, and its uid (SO_PEERCRED) is that process's uid.
    /// </summary>
    internal CallerIdentity? IdentifyCaller(int pid, uint uid, int pidfd)
    {
        string? npid;
        lock (gate)
        {
            npid = byPid.TryGetValue(pid, out var main) && main.Running ? main.Npid : null;
        }

        if (npid is null && (engine as IProcessOwnership)?.OwnerOf(pid) is { } owner)
        {
            lock (gate)
            {
                npid = byId.GetValueOrDefault(owner)?.Npid;
            }
        }

        // Without a pidfd (kernels before 5.3) the uid check below still keeps tenants apart.
        if (npid is null || (pidfd >= 0 && !Interop.PidFd.Alive(pidfd)))
        {
            return null;
        }

        lock (gate)
        {
            return byNpid.TryGetValue(npid, out var p) && p.Running && p.Exit is null && p.Identity.Uid == uid
                ? new CallerIdentity(p.Npid, p.Tenant)
                : null;
        }
    }
}
