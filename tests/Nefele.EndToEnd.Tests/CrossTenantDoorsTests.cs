using System.Text;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// Cross-tenant attempts through the doors a process or a shell user has besides REST and the
/// SDK: <c>nef</c> with a key, <c>nef</c> inside a Nefele process (the process socket) and
/// libnefele. Another tenant's process must look exactly like one that does not exist: the
/// answer about the victim's NPID is the answer about an unknown NPID, word for word.
/// </summary>
public sealed class CrossTenantDoorsTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Well formed, never issued (NPIDs encode their creation time; this one is of 1970).</summary>
    private const string Unknown = "0000000000001";

    private const string CProgram = """
        #include <nefele.h>
        #include <stdio.h>
        #include <string.h>

        static void try_npid(const char *label, const char *id) {
            npid_t target;
            nefele_exit ex;
            memset(&target, 0, sizeof target);
            strncpy(target.id, id, sizeof target.id - 1);
            int k = nefele_kill(9, &target);
            printf("%s kill=%d %s\n", label, k, k < 0 ? nefele_last_error() : "");
            int m = nefele_monitor(&target, &ex);
            printf("%s monitor=%d %s\n", label, m, m < 0 ? nefele_last_error() : "");
        }

        int main(int argc, char **argv) {
            if (argc != 3) return 2;
            try_npid("victim", argv[1]);
            try_npid("unknown", argv[2]);
            size_t count = 0;
            nefele_proc procs[256];
            if (nefele_ps(procs, 256, &count) < 0) { printf("ps failed: %s\n", nefele_last_error()); return 3; }
            int seen = 0;
            for (size_t i = 0; i < count && i < 256; i++) if (strcmp(procs[i].npid, argv[1]) == 0) seen = 1;
            printf("ps-sees-victim=%d\n", seen);
            return 0;
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-doors-");

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Nef_with_a_key_of_another_tenant_sees_the_victims_npid_as_unknown()
    {
        foreach (var verb in new[] { new[] { "kill", "-9" }, ["logs"], ["monitor"] })
        {
            var victim = await Node.NefAsAsync(fixture.AttackerMember, ["--tenant", SecurityFixture.Attacker, .. verb, fixture.VictimNpid]);
            var unknown = await Node.NefAsAsync(fixture.AttackerMember, ["--tenant", SecurityFixture.Attacker, .. verb, Unknown]);
            Assert.NotEqual(0, victim.Code);
            Assert.Equal(unknown.Code, victim.Code);
            Assert.Equal(unknown.Stdout, victim.Stdout);
            Assert.Equal(unknown.Stderr.Replace(Unknown, fixture.VictimNpid, StringComparison.Ordinal), victim.Stderr);
        }

        var ps = await Node.NefAsAsync(fixture.AttackerMember, "--tenant", SecurityFixture.Attacker, "ps", "-a");
        Assert.Equal(0, ps.Code);
        // The NPID column only: the attacker's own command lines may name the victim's NPID.
        Assert.DoesNotContain(fixture.VictimNpid, ps.Stdout.Split('\n').Select(l => l.Split(' ')[0]));

        // Naming the victim's tenant outright is forbidden, not an empty list.
        var named = await Node.NefAsAsync(fixture.AttackerOwner, "--tenant", SecurityFixture.Victim, "ps");
        Assert.NotEqual(0, named.Code);
        Assert.Contains("does not grant access", named.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.VictimNpid, named.Stdout + named.Stderr, StringComparison.Ordinal);

        await AssertVictimUntouchedAsync();
    }

    [Fact]
    public async Task Nef_inside_a_process_of_another_tenant_sees_the_victims_npid_as_unknown()
    {
        var nef = Path.Combine(RepoPaths.Root, "bin", "nef");
        var script = new StringBuilder();
        foreach (var verb in new[] { "kill -9", "logs", "monitor" })
        {
            var name = verb.Split(' ')[0];
            script.Append(CultureInvariant($"v=$('{nef}' {verb} {fixture.VictimNpid} 2>&1); vc=$?; "));
            script.Append(CultureInvariant($"u=$('{nef}' {verb} {Unknown} 2>&1); uc=$?; "));
            script.Append(CultureInvariant($"echo \"{name}-codes=$vc,$uc\"; "));
            script.Append(CultureInvariant($"[ \"$v\" = \"$(printf '%s' \"$u\" | sed 's/{Unknown}/{fixture.VictimNpid}/g')\" ] && echo {name}-same || echo \"{name}-differs: $v | $u\"; "));
        }

        // The NPID column only: the attacker's own command lines name the victim's NPID.
        script.Append(CultureInvariant($"'{nef}' ps -a 2>&1 | awk '{{print $1}}' | grep -qx {fixture.VictimNpid} && echo ps-sees-victim || echo ps-clean"));
        var output = await RunAsAttackerAsync("/bin/sh", ["-c", script.ToString()]);

        foreach (var name in new[] { "kill", "logs", "monitor" })
        {
            Assert.Contains($"{name}-same", output, StringComparison.Ordinal);
            Assert.DoesNotContain($"{name}-codes=0,", output, StringComparison.Ordinal);
        }

        Assert.Contains("ps-clean", output, StringComparison.Ordinal);
        await AssertVictimUntouchedAsync();
    }

    [Fact]
    public async Task Libnefele_in_a_process_of_another_tenant_sees_the_victims_npid_as_unknown()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "doors", CProgram);

        var output = await RunAsAttackerAsync(binary, [fixture.VictimNpid, Unknown]);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var call in new[] { "kill", "monitor" })
        {
            var victim = Assert.Single(lines, l => l.StartsWith($"victim {call}=", StringComparison.Ordinal));
            var unknown = Assert.Single(lines, l => l.StartsWith($"unknown {call}=", StringComparison.Ordinal));
            Assert.StartsWith($"victim {call}=-", victim, StringComparison.Ordinal);
            Assert.Equal(unknown["unknown".Length..].Replace(Unknown, fixture.VictimNpid, StringComparison.Ordinal), victim["victim".Length..]);
        }

        Assert.Contains("ps-sees-victim=0", output, StringComparison.Ordinal);
        await AssertVictimUntouchedAsync();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);

    /// <summary>Runs a program as a process of the attacker's tenant (with the attacker's member key) and returns its output.</summary>
    private async Task<string> RunAsAttackerAsync(string path, string[] args)
    {
        await using var connection = await Node.ConnectAsync(fixture.AttackerMember);
        var attacker = connection.Tenant(SecurityFixture.Attacker);
        var npid = await attacker.SpawnAsync(new ProcessSpec
        {
            Path = path,
            Args = args,
            Env = new Dictionary<string, string> { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin" },
        });
        try
        {
            var end = await attacker.WaitAsync(npid).WaitAsync(Bound);
            var output = Encoding.UTF8.GetString((await attacker.ReadLogsAsync(npid)).Data);
            Assert.True(end.ExitCode == 0, $"{end.Describe()}: {output}");
            return output;
        }
        finally
        {
            await Cleanup.KillAsync(attacker, npid);
        }
    }

    private async Task AssertVictimUntouchedAsync()
    {
        var info = await fixture.VictimAdmin.GetAsync(fixture.VictimNpid);
        Assert.Equal(ProcessState.Running, info.State);
        Assert.True(Interop.IsRunning(info.Pid));
    }
}
