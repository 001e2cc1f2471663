using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A process whose shim presents a token that is not its own is refused before main()
/// and ends FailedToStart with the reason. The forgery is real: a preloaded library
/// interposes getenv so the shim reads a forged NEFELE_TOKEN.
/// </summary>
public sealed class ForgedTokenTests(NodeFixture fixture) : IClassFixture<NodeFixture>, IDisposable
{
    private const string Forger = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <string.h>

        char *getenv(const char *name) {
            static char *(*real)(const char *);
            if (strcmp(name, "NEFELE_TOKEN") == 0) return "0123456789abcdef0123456789abcdef";
            if (!real) real = (char *(*)(const char *))dlsym(RTLD_NEXT, "getenv");
            return real(name);
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-forge-");

    [Fact]
    public async Task Process_presenting_a_forged_token_fails_to_start_with_the_reason()
    {
        var source = Path.Combine(_dir, "forge.c");
        var library = Path.Combine(_dir, "libforge.so");
        await File.WriteAllTextAsync(source, Forger);
        var (code, _, stderr) = await NodeUnderTest.RunAsync("gcc", ["-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(code == 0, stderr);

        var tenant = await fixture.Node.SdkAsync("forge");
        var npid = Assert.Single((await tenant.SubmitAsync(new SpawnRequest
        {
            Tasks =
            [
                new ProcessSpec
                {
                    Path = "/bin/sleep",
                    Args = ["100"],
                    Env = new Dictionary<string, string> { ["LD_PRELOAD"] = library },
                },
            ],
        })).Npids);

        var info = await tenant.GetAsync(npid);
        Assert.Equal(ProcessState.FailedToStart, info.State);
        Assert.Contains("handshake refused", info.End!.Reason, StringComparison.Ordinal);
        Assert.Contains("unknown launch token", info.End.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(await tenant.PsAsync(), p => p.Npid == npid);
        Assert.False(Interop.IsRunning(info.Pid));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
