using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;

namespace Nefele.Testing;

/// <summary>Stops what a test started, by NPID or by PID, whatever state it is in by then.</summary>
public static class Cleanup
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>SIGKILLs the process unless it has already ended, and waits for its end.</summary>
    public static async Task KillAsync(NefeleTenant tenant, params IEnumerable<string> npids)
    {
        foreach (var npid in npids)
        {
            try
            {
                await tenant.KillAsync(npid, Signals.SigKill);
            }
            catch (NefeleException e) when (e.Code is ErrorCodes.NotRunning or ErrorCodes.NpidNotFound or ErrorCodes.NodeUnavailable)
            {
                // Ended already (or never admitted), or its node is gone: it ends as Lost.
            }

            try
            {
                await tenant.WaitAsync(npid).WaitAsync(Wait);
            }
            catch (NefeleException e) when (e.Code == ErrorCodes.NpidNotFound)
            {
            }
        }
    }

    public static async Task KillPidAsync(int pid)
    {
        if (pid > 0 && Interop.IsRunning(pid))
        {
            Interop.Kill(pid, Signals.SigKill);
            await Eventually.Until(() => !Interop.IsRunning(pid), Wait, $"pid {pid} gone after SIGKILL");
        }
    }
}
