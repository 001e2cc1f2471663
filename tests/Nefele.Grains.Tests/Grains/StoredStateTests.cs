using Nefele.Client;
using Nefele.Grains.Tests.Support;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Grains;

/// <summary>
/// Grain state read back from storage is the state that was written, including values equal to
/// their type's default where the record's own default differs (an exit status 0 where an unset
/// one is -1).
/// </summary>
public class StoredStateTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 100, MemoryBytes = 16L << 20 };

    [Fact]
    public async Task An_exit_status_of_0_is_still_0_after_the_process_grain_reactivates_from_storage()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Cluster.ExitAsync(npid, 0);
        Assert.Equal(0, (await Tenant.GetAsync(npid)).End!.ExitCode);

        await Cluster.Client.GetGrain<IProcessGrain>(npid).Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();

        var info = await Tenant.GetAsync(npid);
        Assert.Equal(ProcessState.Exited, info.State);
        Assert.Equal(0, info.End!.ExitCode);
        Assert.Equal("exited 0", info.End.Describe());
    }
}
