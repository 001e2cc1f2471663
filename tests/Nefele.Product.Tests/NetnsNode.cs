using System.Diagnostics;
using System.Text;
using Nefele.Auth;
using Nefele.Testing;

namespace Nefele.Product.Tests;

/// <summary>
/// One real node (nefele-hostd and nefele-silo) in a network namespace of its own, on the default
/// ports (API 7400, gateway 30000, silo 11111): a program run in that namespace finds it as it
/// finds the node of its own machine, with no address given, while the machine's own node and
/// everyone else's keep their ports. Programs enter the namespace with nsenter --net (ip netns exec
/// would remount /sys and hide the cgroups hostd needs). Disposing stops the silo, then hostd,
/// which stops its processes, and deletes the namespace and the run directory.
/// </summary>
public sealed class NetnsNode : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _log = new();
    private readonly List<Process> _children = [];

    private NetnsNode(string name)
    {
        Name = name;
        Namespace = name;
        RunDir = Path.Combine(Path.GetTempPath(), "nefele-product", name);
        (AdminKey, var keyId, var keyHash) = ApiKeys.Create();
        AdminKeySpec = $"{keyId}:{keyHash}";
    }

    public string Name { get; }

    /// <summary>The network namespace (ip netns), /run/netns/NAME.</summary>
    public string Namespace { get; }

    public string RunDir { get; }

    /// <summary>The node's bootstrap admin key: programs get it as NEFELE_TOKEN.</summary>
    public string AdminKey { get; }

    private string AdminKeySpec { get; }

    /// <summary>Everything the node's components printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<NetnsNode> StartAsync()
    {
        var node = new NetnsNode("nefele-product-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await node.StartAsync_();
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync_()
    {
        await RunAsync("ip", ["netns", "add", Namespace]);
        await RunAsync("ip", ["-n", Namespace, "link", "set", "lo", "up"]);
        Directory.CreateDirectory(RunDir);
        Launch("hostd", RepoPaths.Dll("Nefele.HostAgent", "nefele-hostd"),
            ["--node", Name, "--run-dir", RunDir, "--shim", RepoPaths.Native("libnefele-shim.so"),
             "--spawn-lib", RepoPaths.Native("libnefele-spawn.so"), "--stop-grace", "2s"]);
        var silo = Launch("silo", RepoPaths.Dll("Nefele.Silo", "nefele-silo"),
            ["--node", Name, "--hostd-socket", Path.Combine(RunDir, "control.sock"),
             "--admin-key", AdminKeySpec, "--Logging:LogLevel:Default=Warning"]);

        // The API answers /healthz once hostd is attached; curl runs in the namespace to ask it.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (silo.HasExited)
            {
                throw new InvalidOperationException($"silo exited with {silo.ExitCode} during start-up:\n{Log}");
            }

            var probe = await RunAsync("nsenter", [$"--net=/run/netns/{Namespace}", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:7400/healthz"], check: false);
            if (probe.Code == 0)
            {
                return;
            }

            if (deadline.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"node {Name} not healthy within {StartTimeout}:\n{Log}");
            }

            // Polling a start-up probe, bounded by the deadline above.
            await Task.Delay(100);
        }
    }

    /// <summary>Starts a program in the node's namespace (nsenter execs it: the PID is the program's own).</summary>
    public ProcessStartInfo InNamespace(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add($"--net=/run/netns/{Namespace}");
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(file);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    private Process Launch(string tag, string dll, IEnumerable<string> args)
    {
        var p = new Process { StartInfo = InNamespace("dotnet", [dll, .. args]) };
        p.OutputDataReceived += (_, e) => Append(tag, e.Data);
        p.ErrorDataReceived += (_, e) => Append(tag, e.Data);
        p.Start();
        _children.Add(p);
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private void Append(string tag, string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.Append(tag).Append(": ").AppendLine(line);
            }
        }
    }

    /// <summary>Runs a command to its end (bounded) and returns its exit code and output.</summary>
    public static async Task<(int Code, string Out, string Err)> RunAsync(string file, IEnumerable<string> args, bool check = true, TimeSpan? timeout = null, string? cwd = null, IDictionary<string, string?>? env = null)
    {
        var argv = args.ToList();
        var result = await Command.RunAsync(file, argv, env, timeout, cwd);
        if (check && result.Code != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', argv)} exited {result.Code}:\n{result.Stdout}\n{result.Stderr}");
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        // The silo first, then hostd (which stops every process it started), each by its PID.
        for (var i = _children.Count - 1; i >= 0; i--)
        {
            var p = _children[i];
            if (!p.HasExited)
            {
                Interop.Kill(p.Id, 15);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try
                {
                    await p.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    p.Kill(entireProcessTree: true);
                    await p.WaitForExitAsync();
                }
            }

            p.Dispose();
        }

        await RunAsync("ip", ["netns", "del", Namespace], check: false);
        try
        {
            Directory.Delete(RunDir, recursive: true);
        }
        catch (IOException)
        {
            // A process's own child may still hold a file; the temp dir is reused by nobody.
        }
    }
}
