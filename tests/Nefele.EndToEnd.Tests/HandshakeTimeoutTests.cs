using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>A program the shim cannot enter (static) never handshakes: it fails to start, unless asked to run without.</summary>
public sealed class HandshakeTimeoutTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Static_binary_fails_to_start_on_handshake_timeout_and_runs_with_NoHandshake()
    {
        var dir = TestDirectory.Create("nefele-e2e-static");
        try
        {
            var binary = await StaticBinary.BuildAsync(dir);
            await using var node = await NodeUnderTest.StartAsync(null, "--handshake-timeout", "1s");
            var tenant = await node.SdkAsync();

            // The SDK's spawn throws failed_to_start with the reason; the request's answer names the NPID.
            var thrown = await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(new ProcessSpec { Path = binary }).WaitAsync(Bound));
            Assert.Equal(ErrorCodes.FailedToStart, thrown.Code);
            Assert.Contains("no handshake within 1s", thrown.Message, StringComparison.Ordinal);
            var result = await tenant.SubmitAsync(new SpawnRequest { Tasks = [new ProcessSpec { Path = binary }] }).WaitAsync(Bound);
            var failed = Assert.Single(result.Npids);
            Assert.Contains("no handshake within 1s", result.FailedToStart[failed], StringComparison.Ordinal);
            var info = await tenant.GetAsync(failed);
            Assert.Equal(ProcessState.FailedToStart, info.State);
            Assert.NotNull(info.End);
            Assert.Contains("no handshake within 1s", info.End!.Reason, StringComparison.Ordinal);
            Assert.Equal(info.End, await tenant.WaitAsync(failed).WaitAsync(Bound));

            // exec happened (the program ran, it just never said hello), so there was a pid, and it is killed.
            Assert.True(info.Pid > 0, $"a start that timed out on the handshake reports the pid it ran as, got {info.Pid}");
            await Eventually.Until(() => !Interop.IsRunning(info.Pid), Bound, $"pid {info.Pid} of the failed start gone");

            var running = await tenant.SpawnAsync(new ProcessSpec { Path = binary, NoHandshake = true }).WaitAsync(Bound);
            try
            {
                var ok = await tenant.GetAsync(running);
                Assert.Equal(ProcessState.Running, ok.State);
                Assert.True(Interop.IsRunning(ok.Pid));
                await Eventually.Until(async () => (await ProcessLifecycleTests.ReadAllAsync(tenant.LogsAsync(running, follow: false))).Contains("static"), Bound, "the static program's output");
            }
            finally
            {
                await Cleanup.KillAsync(tenant, running);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
