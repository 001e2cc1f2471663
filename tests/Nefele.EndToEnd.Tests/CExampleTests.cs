using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// libnefele as an installed C library: `make -C native install` lays out the header, the
/// versioned library, the shim and nefele.pc, and examples/c builds with pkg-config against that
/// and runs as a Nefele process on a real node.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class CExampleTests(NodeFixture fixture) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);
    private readonly string _dir = TestDirectory.Create("nefele-c-example-");

    [Fact]
    public async Task Make_install_stages_the_library_header_shim_and_pc_file_under_DESTDIR()
    {
        var stage = Path.Combine(_dir, "stage");
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "native"), "install", "PREFIX=/usr", $"DESTDIR={stage}"]);

        var lib = Path.Combine(stage, "usr", "lib");
        Assert.True(File.Exists(Path.Combine(stage, "usr", "include", "nefele.h")));
        Assert.Equal("libnefele.so.1", new FileInfo(Path.Combine(lib, "libnefele.so")).LinkTarget);
        var soname = new FileInfo(Path.Combine(lib, "libnefele.so.1")).LinkTarget;
        Assert.Matches(@"^libnefele\.so\.1\.[0-9]+\.[0-9]+$", soname);
        Assert.True(File.Exists(Path.Combine(lib, soname!)));
        Assert.True(File.Exists(Path.Combine(lib, "nefele", "libnefele-shim.so")));

        var (_, dynamic, _) = await RunOkAsync("readelf", ["-d", Path.Combine(lib, soname!)]);
        Assert.Contains("Library soname: [libnefele.so.1]", dynamic, StringComparison.Ordinal);

        // The .pc file names the final prefix, not the staging root.
        var pc = await File.ReadAllTextAsync(Path.Combine(lib, "pkgconfig", "nefele.pc"));
        Assert.Contains("prefix=/usr\n", pc, StringComparison.Ordinal);
        Assert.DoesNotContain(stage, pc, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_C_example_builds_with_pkg_config_against_an_installed_library_and_runs_as_a_Nefele_process()
    {
        var prefix = Path.Combine(_dir, "prefix");
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "native"), "install", $"PREFIX={prefix}"]);
        var pkgConfig = new Dictionary<string, string?> { ["PKG_CONFIG_PATH"] = Path.Combine(prefix, "lib", "pkgconfig") };

        var (_, flags, _) = await RunOkAsync("pkg-config", ["--cflags", "--libs", "nefele"], pkgConfig);
        Assert.Equal($"-I{prefix}/include -L{prefix}/lib -lnefele", flags.Trim());

        // Built as its README says, with the loader pointed at the prefix (not a system directory).
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "examples", "c"), $"OUT={_dir}", $"LDFLAGS=-Wl,-rpath,{prefix}/lib"], pkgConfig);
        var binary = Path.Combine(_dir, "nefele-example");
        var (_, ldd, _) = await RunOkAsync("ldd", [binary]);
        Assert.Contains($"libnefele.so.1 => {prefix}/lib/libnefele.so.1 ", ldd, StringComparison.Ordinal);

        var tenant = await fixture.Node.SdkAsync("c-example");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary });
        var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
        var output = await ReadAllAsync(tenant, npid);
        Assert.True(end.ExitCode == 0, output);

        var lines = output.Split('\n');
        Assert.Contains($"self {npid} (libnefele 1.", output, StringComparison.Ordinal);
        var child = Assert.Single(lines, l => l.StartsWith("spawned ", StringComparison.Ordinal))["spawned ".Length..];
        Assert.Contains("monitor: still running after 300 ms", lines);
        Assert.Contains(lines, l => l.StartsWith("logs: read ", StringComparison.Ordinal) && l.EndsWith("through \"tick 3\"", StringComparison.Ordinal));

        // ps shows what the child uses (its cgroup's figures) beside its limit.
        var ps = Assert.Single(lines, l => l.StartsWith($"ps: {child} ", StringComparison.Ordinal));
        Assert.Contains($" name=ticker state=4 ", ps, StringComparison.Ordinal);
        Assert.Contains($" memory_limit={64 << 20}", ps, StringComparison.Ordinal);
        var memoryUsed = long.Parse(ps.Split(" memory_used=")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        // Usage comes from the process's cgroup (v2, or v1's memory hierarchy); a machine with neither has none.
        if (File.Exists("/sys/fs/cgroup/cgroup.controllers") || File.Exists("/sys/fs/cgroup/memory/cgroup.procs"))
        {
            Assert.InRange(memoryUsed, 1, 64L << 20);
        }

        Assert.Contains($"exit: {child} state=5 signal=15 exit_code=-1", lines);
        Assert.Contains(lines, l => l.StartsWith("spawn of a missing program: -2 (", StringComparison.Ordinal)
            && l.EndsWith("): program_not_found: spawn rejected: /nonexistent/program: no such file", StringComparison.Ordinal));

        var info = await tenant.GetAsync(child);
        Assert.Equal(ProcessState.Exited, info.State);
        Assert.Equal(15, info.End!.Signal);
    }

    [Fact]
    public async Task A_program_Nefele_did_not_start_makes_the_same_calls_over_REST_with_a_key_and_libnefele_errnos()
    {
        var prefix = Path.Combine(_dir, "prefix");
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "native"), "install", $"PREFIX={prefix}"]);
        var pkgConfig = new Dictionary<string, string?> { ["PKG_CONFIG_PATH"] = Path.Combine(prefix, "lib", "pkgconfig") };
        var binary = Path.Combine(_dir, "nefele-rest");
        await RunOkAsync("make", ["-s", "-C", Path.Combine(RepoPaths.Root, "examples", "c"), $"OUT={_dir}", $"LDFLAGS=-Wl,-rpath,{prefix}/lib", binary], pkgConfig);

        const string Tenant = "c-rest";
        var key = await fixture.Node.CreateKeyAsync(Tenant, "c-rest");
        var (code, stdout, stderr) = await NodeUnderTest.RunAsync(binary, [Tenant],
            new Dictionary<string, string?> { ["NEFELE_API"] = fixture.Node.ApiUrl, ["NEFELE_TOKEN"] = key }, Bound);

        Assert.True(code == 0, stdout + stderr);
        var lines = stdout.Split('\n');
        var npid = Assert.Single(lines, l => l.StartsWith("spawned ", StringComparison.Ordinal))["spawned ".Length..];
        Assert.Contains("ended: state=Exited exit_code=3", lines);
        Assert.Contains("output: hello over REST", lines);
        Assert.Contains("error: HTTP 422, code program_not_found -> -2 (no such program (or no such key, supervisor, image or development overlay)): spawn rejected: /nonexistent/program: no such file", lines);

        var tenant = await fixture.Node.SdkAsync(Tenant);
        Assert.Equal(3, (await tenant.GetAsync(npid)).End!.ExitCode);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Stdout, string Stderr)> RunOkAsync(string file, string[] args, IDictionary<string, string?>? env = null)
    {
        var run = await NodeUnderTest.RunAsync(file, args, env, Bound);
        Assert.True(run.Code == 0, $"{file} {string.Join(' ', args)} exited {run.Code}: {run.Stderr}{run.Stdout}");
        return run;
    }

    private static async Task<string> ReadAllAsync(Client.NefeleTenant tenant, string npid)
    {
        var text = new StringBuilder();
        await foreach (var chunk in tenant.LogsAsync(npid, follow: false))
        {
            text.Append(Encoding.UTF8.GetString(chunk));
        }

        return text.ToString();
    }
}
