using Nefele.Client;
using Nefele.Processes;
using Xunit;
using Xunit.Abstractions;

namespace Nefele.Cluster.Tests;

/// <summary>
/// The cluster's behaviour end to end, on real nodes, one class over several files. Tests run in
/// any order and each may run alone: before each, the cluster is brought back to nodes 1..3
/// active and connected (<see cref="ClusterFixture.RestoreAsync"/>), whatever an earlier test
/// that restarted, killed, cut off or added a node left behind.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class ClusterTests(ClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    public Task InitializeAsync() => cluster.RestoreAsync(output.WriteLine);

    public Task DisposeAsync() => Task.CompletedTask;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly string[] SleepArgs = ["300"];

    /// <summary>A tenant of the test's own, so ps and name: selectors see only its processes.</summary>
    private static Task<NefeleTenant> NewTenantAsync(ClusterFixture cluster) => cluster.TenantAsync("t" + Guid.NewGuid().ToString("N")[..10]);

    private static ProcessSpec Sleeper(int? node = null, string? name = null) => new()
    {
        Path = "/bin/sleep",
        Args = ["300"],
        Name = name,
        Affinity = node is { } k ? [$"label:zone={ClusterFixture.Zone(k)}"] : [],
    };

    /// <summary>The process's start time from /proc (field 22), so a reused pid is not taken for it; null once it is gone.</summary>
    private static string? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0] is "Z" or "X" ? null : fields[19];
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>
    /// Monitors a process through the SDK until it ends: the task completes with every event;
    /// <paramref name="running"/> completes once the monitor has seen Running (it is then waiting).
    /// </summary>
    private static Task<List<ProcessEvent>> Monitor(NefeleTenant tenant, string npid, TaskCompletionSource running, CancellationToken ct) =>
        Task.Run(async () =>
        {
            var events = new List<ProcessEvent>();
            await foreach (var e in tenant.MonitorAsync(npid, 0, ct))
            {
                events.Add(e);
                if (e.State == ProcessState.Running)
                {
                    running.TrySetResult();
                }
            }

            running.TrySetResult();
            return events;
        }, ct);

    private static string Describe(IEnumerable<ProcessEvent> events) =>
        string.Join(" → ", events.Select(e => $"{e.Seq}:{e.State}@{e.Node}" + (e.End is { } end ? $"({end.Describe()})" : string.Empty)));
}
