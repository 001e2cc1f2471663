using Nefele.HostAgent.Engines;

namespace Nefele.HostAgent.Processes;

/// <summary>Node stop: every process and what it forked ended, through the engine.</summary>
public sealed partial class ProcessSupervisor
{
    /// <summary>
    /// Stops the node's processes as systemd stops a unit's control group: SIGTERM to every
    /// task of every process (the process and the children it forked, through the engine), and
    /// to what released processes left; SIGKILL to whatever is left after the grace period;
    /// then waits for the exits and has the engine free what it keeps for each.
    /// </summary>
    public async Task StopAllAsync(TimeSpan grace)
    {
        List<TrackedProcess> live;
        List<LocalProcessId> ids;
        lock (gate)
        {
            live = byPid.Values.ToList();
            ids = byId.Keys.ToList();
        }

        await SignalAllAsync(ids, Interop.LibC.SIGTERM);
        var exited = await WaitForExitsAsync(live, grace);

        // Children that outlived their process, or ignored SIGTERM, get SIGKILL at once.
        await SignalAllAsync(ids, Interop.LibC.SIGKILL);
        if (!exited)
        {
            await WaitForExitsAsync(live, TimeSpan.FromSeconds(3));
        }

        lock (gate)
        {
            ids = byId.Keys.ToList();
        }

        foreach (var id in ids)
        {
            await engine.ReleaseAsync(id);
        }
    }

    private async Task SignalAllAsync(List<LocalProcessId> ids, int signal)
    {
        foreach (var id in ids)
        {
            await engine.SignalAsync(id, signal, SignalTarget.All, CancellationToken.None);
        }

        await engine.SignalReleasedAsync(signal, CancellationToken.None);
    }

    private async Task<bool> WaitForExitsAsync(List<TrackedProcess> processes, TimeSpan within)
    {
        var deadline = Environment.TickCount64 + (long)within.TotalMilliseconds;
        while (true)
        {
            lock (gate)
            {
                // Done when each has either a recorded exit or is gone (failed start, acked).
                if (processes.All(p => p.Exit is not null || !byNpid.ContainsKey(p.Npid)))
                {
                    return true;
                }
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
    }
}
