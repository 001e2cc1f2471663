using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>A C program whose node has lost its silo gets -EAGAIN (control_plane_unavailable): retry later.</summary>
public sealed class CApiNoSiloTests : IDisposable
{
    private const int EAGAIN = 11; // Linux

    // Waits for "go" on one FIFO, makes a call hostd must relay to the silo, answers on the other.
    private const string Program = """
        #include <nefele.h>
        #include <stdio.h>

        int main(int argc, char **argv) {
            if (argc != 3) return 2;
            char go[8] = "";
            FILE *in = fopen(argv[1], "r");
            if (!in || !fgets(go, sizeof go, in)) return 3;
            size_t count = 0;
            int rc = nefele_ps(NULL, 0, &count);
            FILE *out = fopen(argv[2], "w");
            if (!out) return 4;
            fprintf(out, "ps rc=%d error=%s\n", rc, rc < 0 ? nefele_last_error() : "");
            fclose(out);
            return 0;
        }
        """;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _dir = TestDirectory.Create("nefele-capi-nosilo-");

    [Fact]
    public async Task A_call_while_the_silo_is_down_is_EAGAIN_naming_control_plane_unavailable()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "nosilo", Program);
        var go = Path.Combine(_dir, "go");
        var answer = Path.Combine(_dir, "answer");
        foreach (var fifo in new[] { go, answer })
        {
            var (code, _, stderr) = await NodeUnderTest.RunAsync("mkfifo", ["-m", "0666", fifo], timeout: Bound);
            Assert.True(code == 0, stderr);
        }

        await using var node = await NodeUnderTest.StartAsync();
        var tenant = await node.SdkAsync("capi-nosilo");
        await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = [go, answer] });

        await node.KillSiloAsync();

        // Opening a FIFO waits for its other end (on a thread of its own, so the bound holds): the
        // program is waiting on "go", then writes its answer.
        await Task.Run(() => File.WriteAllText(go, "go\n")).WaitAsync(Bound);
        var line = await Task.Run(() => File.ReadAllText(answer)).WaitAsync(Bound);

        Assert.StartsWith($"ps rc={-EAGAIN} error=control_plane_unavailable: ", line, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
