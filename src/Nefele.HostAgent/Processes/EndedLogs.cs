using Nefele.HostAgent.Logs;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// The output of processes whose end was acknowledged, readable for the last
/// <see cref="HostAgentOptions.EndedLogsKept"/> of them; older ones are handed back to be
/// deleted. Guarded by the supervisor's lock.
/// </summary>
internal sealed class EndedLogs(HostAgentOptions options)
{
    private readonly Dictionary<string, ProcessLog> logs = new(StringComparer.Ordinal);

    // Oldest first.
    private readonly Queue<string> order = new();

    public ProcessLog? Get(string npid) => logs.GetValueOrDefault(npid);

    /// <summary>Keeps <paramref name="log"/>; adds the logs that fall out of the bound to <paramref name="dropped"/>.</summary>
    public void Add(string npid, ProcessLog log, List<ProcessLog> dropped)
    {
        if (logs.TryAdd(npid, log))
        {
            order.Enqueue(npid);
        }

        while (order.Count > options.EndedLogsKept && order.TryDequeue(out var oldest))
        {
            if (logs.Remove(oldest, out var old))
            {
                dropped.Add(old);
            }
        }
    }
}
