using Nefele.Client;
using Nefele.Grains.Tests.Support;
using Nefele.Processes;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Grains;

/// <summary>The process grain's door for terminal input: what it refuses itself, and what it passes to the node in order.</summary>
public class TerminalInputTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    [Fact]
    public async Task Input_and_resizes_of_a_tty_process_reach_its_node_in_order()
    {
        var npid = await Tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Tty = true });
        await Tenant.ResizeTerminalAsync(npid, 30, 100);
        await Tenant.TypeAsync(npid, "ls\r"u8.ToArray());
        await Tenant.TypeAsync(npid, "\x03"u8.ToArray());

        var sent = Cluster.Channel.TerminalInputs.Where(i => i.Npid == npid).Select(i => (System.Text.Encoding.ASCII.GetString(i.Data), i.Rows, i.Columns)).ToArray();
        Assert.Equal([(string.Empty, 30, 100), ("ls\r", 0, 0), ("\x03", 0, 0)], sent);

        await Cluster.ExitAsync(npid, 0);
        Assert.Equal(ErrorCodes.NotRunning, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.TypeAsync(npid, "late"u8.ToArray()))).Code);
    }

    [Fact]
    public async Task Input_the_process_grain_refuses_never_reaches_the_node()
    {
        var plain = await Tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["60"] });
        var tty = await Tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Tty = true });
        var grain = Cluster.Client.GetGrain<IProcessGrain>(tty);

        var noTerminal = await Assert.ThrowsAsync<NefeleException>(() => Tenant.TypeAsync(plain, "x"u8.ToArray()));
        Assert.Equal(ErrorCodes.BadRequest, noTerminal.Code);
        Assert.Contains("no terminal", noTerminal.Message, StringComparison.Ordinal);

        var tooMuch = new byte[Limits.MaxTerminalInputBytes + 1];
        Assert.Equal(ErrorCodes.BadRequest, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.TypeAsync(tty, tooMuch))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await Assert.ThrowsAsync<NefeleException>(() => grain.TerminalInputAsync(Tenant.Name, [], 65536, 80))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await Assert.ThrowsAsync<NefeleException>(() => grain.TerminalInputAsync(Tenant.Name, [], 24, 0))).Code);

        // Another tenant's call is answered as if the NPID did not exist.
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => grain.TerminalInputAsync("someone-else", [1], 0, 0))).Code);

        Assert.DoesNotContain(Cluster.Channel.TerminalInputs, i => i.Npid == plain || i.Npid == tty);
        await Cluster.ExitAsync(plain, 0);
        await Cluster.ExitAsync(tty, 0);
    }
}
