using System.Diagnostics;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

public sealed class ShutdownTests
{
    private static readonly string[] Launched = ["polite", "stubborn", "parent"];

    [Fact]
    public async Task Sigterm_stops_every_process_reports_the_exits_and_cleans_up()
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var node = "t" + id;
        var runDir = Path.Combine(Path.GetTempPath(), "nh-" + id);
        var hostd = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "nefele-hostd.dll"),
            "--node", node, "--run-dir", runDir, "--stop-grace", "1s",
            "--shim", NativeBuild.ShimPath, "--spawn-lib", NativeBuild.SpawnLibraryPath,
        })
        {
            hostd.ArgumentList.Add(arg);
        }

        using var process = Process.Start(hostd)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            var control = Path.Combine(runDir, "control.sock");
            await LaunchTests.WaitUntil(() => File.Exists(control) || process.HasExited);
            Assert.False(process.HasExited, "hostd exited at start-up");
            await using var silo = await SiloConnection.ConnectAsync(control);
            await silo.AttachAsync(node);
            var polite = await silo.LaunchStartedAsync("polite", new ProcessSpec { Path = "/bin/sleep", Args = { "100" } });
            var stubborn = await silo.LaunchStartedAsync("stubborn", new ProcessSpec { Path = "/bin/sh", Args = { "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done" } });
            Assert.Equal("ready\n", (await silo.LogsAsync("stubborn", 0, waitMs: 10_000)).Data.ToStringUtf8());
            await silo.LaunchStartedAsync("parent", new ProcessSpec { Path = "/bin/sh", Args = { "-c", "sleep 300 & echo $!; wait" } });
            var child = int.Parse((await silo.LogsAsync("parent", 0, waitMs: 10_000)).Data.ToStringUtf8().Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(LaunchTests.ProcessAlive(child));

            // What there is to clean up on this machine's cgroup flavour (nothing on none).
            var nodeDirs = HostCgroups.NodeDirectories(node);
            var processDirs = Launched.SelectMany(n => HostCgroups.ProcessDirectories(node, "acme", n)).ToList();
            Assert.All(nodeDirs.Concat(processDirs), d => Assert.True(Directory.Exists(d), $"{d} missing while its processes run"));

            Assert.Equal(0, Interop.LibC.kill(process.Id, Interop.LibC.SIGTERM));
            var exits = new Dictionary<string, ProcessExited>();
            while (exits.Count < 3)
            {
                var ev = await silo.NextEventAsync();
                if (ev.Exited is not null)
                {
                    Assert.True(exits.TryAdd(ev.Exited.Npid, ev.Exited), $"{ev.Exited.Npid}'s exit reported twice");
                }
            }

            // SIGTERM for each; SIGKILL after the grace for the one that ignores it.
            Assert.Equal(["parent", "polite", "stubborn"], exits.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(15, exits["polite"].End.Signal);
            Assert.Equal(9, exits["stubborn"].End.Signal);
            Assert.Equal(15, exits["parent"].End.Signal);
            using var cts = new CancellationTokenSource(SiloConnection.Timeout);
            await process.WaitForExitAsync(cts.Token);
            Assert.True(process.ExitCode == 0, await errors + await output);
            Assert.False(LaunchTests.ProcessAlive(polite.Pid));
            Assert.False(LaunchTests.ProcessAlive(stubborn.Pid));

            // A process's own children share its cgroup and are stopped with it.
            Assert.False(LaunchTests.ProcessAlive(child));
            Assert.False(File.Exists(control));
            Assert.False(File.Exists(Path.Combine(runDir, "api.sock")));
            Assert.All(nodeDirs.Concat(processDirs), d => Assert.False(Directory.Exists(d), $"{d} left after shutdown"));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            if (Directory.Exists(runDir))
            {
                Directory.Delete(runDir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Bad_setting_fails_start_up_naming_the_setting()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "nefele-hostd.dll"));
        start.ArgumentList.Add("--engine");
        start.ArgumentList.Add("docker");
        start.ArgumentList.Add("--run-dir");
        start.ArgumentList.Add(Path.Combine(Path.GetTempPath(), "nh-unused"));
        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(SiloConnection.Timeout);
        await process.WaitForExitAsync(cts.Token);
        Assert.Equal(2, process.ExitCode);
        Assert.Contains("HostAgent:Engine (--engine) 'docker' is not a known engine; allowed: native", stderr, StringComparison.Ordinal);
    }
}
