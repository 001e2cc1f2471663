using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Grains;

public class ProcessLimitsTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"] };

    [Fact]
    public async Task Sixty_fifth_monitor_of_one_process_is_refused_and_the_others_still_see_the_end()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        var grain = Cluster.Client.GetGrain<IProcessGrain>(npid);
        var running = (await Tenant.GetAsync(npid)).Seq;

        // 65 monitors wait for the transition after Running; the documented limit is 64 at once,
        // so exactly one (whichever arrives last) is refused.
        var waiting = Enumerable.Range(0, 65).Select(_ => grain.WatchAsync(Tenant.Name, running, TimeSpan.FromSeconds(30))).ToList();
        var refused = await Task.WhenAny(waiting).WaitAsync(TimeSpan.FromSeconds(10));
        var e = await Assert.ThrowsAsync<NefeleException>(() => refused);
        Assert.Equal(ErrorCodes.LimitExceeded, e.Code);
        Assert.Contains("64 monitors", e.Message, StringComparison.Ordinal);
        waiting.Remove(refused);

        // A look that does not wait is not a monitor and is still answered.
        Assert.Empty((await grain.WatchAsync(Tenant.Name, running, TimeSpan.Zero))!);

        await Cluster.ExitAsync(npid, 0);
        var seen = await Task.WhenAll(waiting).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(seen, events => Assert.Equal(ProcessState.Exited, Assert.Single(events!).State));
    }
}
