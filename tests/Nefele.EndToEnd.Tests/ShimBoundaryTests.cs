using System.Text;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The edge of a Nefele process: only hostd's launches get through the handshake, and what a
/// process forks itself is an ordinary process, untouched by Nefele.
/// </summary>
public sealed class ShimBoundaryTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Program_started_outside_hostd_with_a_bogus_token_is_refused()
    {
        var tenant = await Node.SdkAsync();
        var before = (await tenant.PsAsync()).Count;

        var (code, _, stderr) = await NodeUnderTest.RunAsync("/bin/true", [], new Dictionary<string, string?>
        {
            ["LD_PRELOAD"] = RepoPaths.Native("libnefele-shim.so"),
            ["NEFELE_SOCKET"] = Node.ApiSocket,
            ["NEFELE_TOKEN"] = "bogus",
        }, Bound);

        Assert.Equal(121, code);
        Assert.Contains("refused", stderr);
        Assert.Equal(before, (await tenant.PsAsync()).Count);
    }

    [Fact]
    public async Task Forked_child_runs_undisturbed_as_an_ordinary_process()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "sleep 300 & echo $!; wait"] });
        var child = 0;
        try
        {
            var line = await Eventually.Value(async () =>
            {
                var chunk = await tenant.ReadLogsAsync(npid);
                var text = Encoding.UTF8.GetString(chunk.Data);
                return text.Contains('\n') ? text[..text.IndexOf('\n')] : null;
            }, Bound, "the child's pid in the output");
            child = int.Parse(line.Trim());
            Assert.True(Interop.IsRunning(child));

            var environ = (await File.ReadAllTextAsync($"/proc/{child}/environ")).Split('\0');
            Assert.DoesNotContain(environ, v => v.StartsWith("NEFELE_TOKEN=", StringComparison.Ordinal));
            Assert.DoesNotContain(environ, v => v.StartsWith("LD_PRELOAD=", StringComparison.Ordinal) && v.Contains("libnefele-shim"));

            await tenant.KillAsync(npid, Signals.SigKill);
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(Signals.SigKill, end.Signal);
            Assert.True(Interop.IsRunning(child), "the child died with its parent");
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
            await Cleanup.KillPidAsync(child);
        }

        Assert.False(Interop.IsRunning(child));
    }
}
