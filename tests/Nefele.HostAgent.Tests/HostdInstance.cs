using Microsoft.Extensions.Hosting;

namespace Nefele.HostAgent.Tests;

/// <summary>A real hostd running in this test process, with its own run dir and node name.</summary>
internal sealed class HostdInstance : IAsyncDisposable
{
    private readonly IHost host;

    private HostdInstance(IHost host, string node, string runDir)
    {
        this.host = host;
        Node = node;
        RunDirectory = runDir;
    }

    public string Node { get; }

    public string RunDirectory { get; }

    /// <summary>The hostd's own services (its state, for tests that check what a request changed).</summary>
    public IServiceProvider Services => host.Services;

    public string ControlSocket => Path.Combine(RunDirectory, "control.sock");

    public string ApiSocket => Path.Combine(RunDirectory, "api.sock");

    public static async Task<HostdInstance> StartAsync(params string[] extraArgs)
    {
        var id = Guid.NewGuid().ToString("N")[..10];
        var node = "t" + id;
        // Short: unix socket paths are limited to 107 bytes.
        var runDir = Path.Combine(Path.GetTempPath(), "nh-" + id);
        var args = new List<string>
        {
            "--node", node, "--run-dir", runDir,
            "--spawn-lib", NativeBuild.SpawnLibraryPath,
            "--handshake-timeout", "5s", "--stop-grace", "2s",
        };
        if (!extraArgs.Contains("--shim"))
        {
            args.AddRange(["--shim", NativeBuild.ShimPath]);
        }

        args.AddRange(extraArgs);
        var host = HostAgentApp.Build([.. args]);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            try
            {
                await host.StopAsync();
            }
            catch (ArgumentNullException)
            {
                // A host that failed while making its services has none to stop (the generic host
                // then throws this): the start's own failure is the one to report.
            }

            host.Dispose();
            throw;
        }

        return new HostdInstance(host, node, runDir);
    }

    public Task<SiloConnection> ConnectAsync() => SiloConnection.ConnectAsync(ControlSocket);

    public async Task<SiloConnection> AttachAsync()
    {
        var silo = await ConnectAsync();
        await silo.AttachAsync(Node);
        return silo;
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
        try
        {
            Directory.Delete(RunDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
