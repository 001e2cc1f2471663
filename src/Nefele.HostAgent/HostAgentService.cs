using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Cgroups;
using Nefele.HostAgent.Control;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Processes;
using Nefele.HostAgent.Shim;

namespace Nefele.HostAgent;

/// <summary>Opens the sockets at start; at stop, ends every process, reports the exits and cleans up.</summary>
public sealed class HostAgentService(
    HostAgentOptions options,
    ICgroupManager cgroups,
    IProcessEngine engine,
    ProcessSupervisor supervisor,
    ControlServer control,
    HandshakeServer api,
    Shared.TenantDirectories tenantDirectories,
    ILogger<HostAgentService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The run dir must let every tenant's processes reach api.sock; logs/ is root's alone.
        Directory.CreateDirectory(options.RunDirectory);
        File.SetUnixFileMode(options.RunDirectory,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        Directory.CreateDirectory(options.LogDirectory);
        File.SetUnixFileMode(options.LogDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!File.Exists(options.ShimPath))
        {
            logger.LogWarning("Shim {Path} does not exist: launches that handshake will fail; only no_handshake launches work", options.ShimPath);
        }
        else
        {
            StageShim();
        }

        // Before any launch: every tenant's directory and the image store hang off it.
        tenantDirectories.Prepare();

        // Before the first launch: the engine stops or re-adopts what a previous hostd left.
        supervisor.Adopt(await engine.RecoverAsync(cancellationToken));

        // The api socket first: once a silo can attach and launch, processes can reach hostd.
        api.Start();
        control.Start();
        logger.LogInformation(
            "nefele-hostd for node {Node}: engine {Engine}, cgroups {Cgroups}, run dir {RunDir}",
            options.Node, engine.Capabilities.Name, cgroups.Flavor, options.RunDirectory);
    }

    /// <summary>
    /// Processes run as their tenant's uid, and the dynamic loader opens the preloaded shim as that
    /// uid: a shim in a directory only root can enter (a checkout under /root) would be skipped and
    /// every handshake would time out. So hostd preloads its own copy, root-owned and world-readable,
    /// in the run directory.
    /// </summary>
    private void StageShim()
    {
        var staged = Path.Combine(options.RunDirectory, "libnefele-shim.so");
        if (string.Equals(Path.GetFullPath(options.ShimPath), staged, StringComparison.Ordinal))
        {
            return;
        }

        var temporary = staged + ".new";
        File.Copy(options.ShimPath, temporary, overwrite: true);
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temporary, staged, overwrite: true);
        options.ShimPath = staged;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("Stopping: SIGTERM to every process, SIGKILL after {Grace}", options.StopGrace);
        await api.DisposeAsync();
        await supervisor.StopAllAsync(options.StopGrace);
        await control.FlushAsync(TimeSpan.FromSeconds(2));
        await control.DisposeAsync();
        await supervisor.DisposeAsync();
        await engine.DisposeAsync();
    }
}
