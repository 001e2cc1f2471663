using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Testing;

namespace Nefele.Cli.Tests;

/// <summary>
/// One real node for nef to talk to: nefele-hostd and nefele-silo as child processes on their
/// own ports, node name and run directory, with a bootstrap admin key. Disposing stops the
/// silo, then hostd with SIGTERM (which stops every process it started), by their PIDs.
/// </summary>
public sealed class RealNode : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder log = new();
    private Process? hostd;
    private Process? silo;

    public RealNode()
    {
        Name = "cli-" + Guid.NewGuid().ToString("N")[..8];
        RunDir = Path.Combine(Path.GetTempPath(), "nefele-cli-tests", Name);
        ApiUrl = $"http://127.0.0.1:{FreePort()}";
        (AdminKey, var id, var hash) = ApiKeys.Create();
        AdminKeySpec = $"{id}:{hash}";
    }

    public string Name { get; }

    public string RunDir { get; }

    public string ApiUrl { get; }

    public string AdminKey { get; }

    private string AdminKeySpec { get; }

    /// <summary>Everything the node's components printed, for failure messages.</summary>
    public string Log
    {
        get
        {
            lock (log)
            {
                return log.ToString();
            }
        }
    }

    /// <summary>nef's environment for this node with <paramref name="key"/>, never falling back to a key of the machine.</summary>
    public Dictionary<string, string?> Env(string? key = null, string? tenant = null) => new()
    {
        ["NEFELE_API"] = ApiUrl,
        [CredentialSources.TokenVariable] = key ?? AdminKey,
        [CredentialSources.AdminKeyFileVariable] = "/nonexistent",
        ["XDG_CONFIG_HOME"] = "/nonexistent",
        ["HOME"] = "/nonexistent",
        ["NEFELE_TENANT"] = tenant,
    };

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(RunDir);
        hostd = Launch("hostd", RepoPaths.Dll("Nefele.HostAgent", "nefele-hostd"),
            ["--node", Name, "--run-dir", RunDir, "--shim", RepoPaths.Native("libnefele-shim.so"),
             "--spawn-lib", RepoPaths.Native("libnefele-spawn.so"), "--stop-grace", "2s"]);
        silo = Launch("silo", RepoPaths.Dll("Nefele.Silo", "nefele-silo"),
            ["--node", Name, "--hostd-socket", Path.Combine(RunDir, "control.sock"), "--api", ApiUrl,
             "--silo-port", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--gateway-port", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--admin-key", AdminKeySpec, "--Logging:LogLevel:Default=Warning"]);

        using var http = new HttpClient { BaseAddress = new Uri(ApiUrl), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (silo.HasExited || hostd.HasExited)
            {
                throw new InvalidOperationException($"node {Name} exited during start-up:\n{Log}");
            }

            try
            {
                using var response = await http.GetAsync("/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            if (deadline.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"node {Name} not healthy within {StartTimeout}:\n{Log}");
            }

            // Polling a start-up probe, bounded by the deadline above.
            await Task.Delay(100);
        }
    }

    public async Task DisposeAsync()
    {
        await StopAsync(silo);
        await StopAsync(hostd);
        try
        {
            Directory.Delete(RunDir, recursive: true);
        }
        catch (IOException)
        {
            // A process's own child may still hold a file; the directory is unique to this node.
        }
    }

    private static async Task StopAsync(Process? p)
    {
        if (p is null || p.HasExited)
        {
            return;
        }

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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Process Launch(string tag, string dll, IEnumerable<string> args) => DotnetChild.Start(tag, dll, args, log);
}
