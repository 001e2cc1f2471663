using System.Diagnostics;
using System.Text;

namespace Nefele.HostAgent.Networking;

/// <summary>
/// Runs iproute2's <c>ip</c> and <c>bridge</c> for the tenant networks: in hostd's own network
/// namespace (the node's), or in the named one <see cref="NodeNamespace"/> (several simulated nodes
/// on one machine). Each call is one short process; a batch of changes goes through one
/// <c>-batch</c> run, so a tenant network costs a handful of processes, not dozens.
/// </summary>
public sealed class IpRoute(string? nodeNamespace = null)
{
    /// <summary>How long one command may take before it is killed and reported.</summary>
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The named network namespace (under /run/netns) that stands for the node; null: hostd's own.</summary>
    public string? NodeNamespace { get; } = nodeNamespace;

    /// <summary>Runs <c>ip ARGS</c> in the node's namespace (or, with <paramref name="netns"/>, in that one) and returns what it printed.</summary>
    /// <exception cref="TenantNetworkException">It failed; the message has the command and its error output.</exception>
    public Task<string> IpAsync(IReadOnlyList<string> args, CancellationToken ct, string? netns = null) =>
        RunAsync("ip", netns is null ? NodeScoped(args) : ["-n", netns, .. args], null, ct);

    /// <summary>
    /// Runs <c>ip netns ARGS</c> (add, del) as hostd itself: never through <c>-n</c>, which also enters
    /// a mount namespace of its own, where the namespace's bind mount under /run/netns would stay.
    /// A new namespace does not descend from the node's, so this is the same for every node.
    /// </summary>
    public Task<string> NetnsAsync(IReadOnlyList<string> args, CancellationToken ct) => RunAsync("ip", ["netns", .. args], null, ct);

    /// <summary>Runs <c>ip -batch -</c> over <paramref name="lines"/> in the node's namespace (or, with <paramref name="netns"/>, in that one).</summary>
    public Task<string> IpBatchAsync(IReadOnlyList<string> lines, CancellationToken ct, string? netns = null)
    {
        var args = netns is null ? NodeScoped(["-batch", "-"]) : ["-n", netns, "-batch", "-"];
        return RunAsync("ip", args, string.Join('\n', lines) + "\n", ct);
    }

    /// <summary>Runs <c>bridge ARGS</c> in the node's namespace.</summary>
    public Task<string> BridgeAsync(IReadOnlyList<string> args, CancellationToken ct) => RunAsync("bridge", NodeScoped(args), null, ct);

    /// <summary>Runs <c>bridge -batch -</c> over <paramref name="lines"/> in the node's namespace.</summary>
    public Task<string> BridgeBatchAsync(IReadOnlyList<string> lines, CancellationToken ct) =>
        RunAsync("bridge", NodeScoped(["-batch", "-"]), string.Join('\n', lines) + "\n", ct);

    /// <summary>Runs <c>nft -f -</c> over <paramref name="script"/> in the node's namespace (one transaction: all or nothing).</summary>
    public Task<string> NftAsync(string script, CancellationToken ct) =>
        NodeNamespace is null
            ? RunAsync("nft", ["-f", "-"], script, ct)
            : RunAsync("nsenter", [$"--net=/run/netns/{NodeNamespace}", "nft", "-f", "-"], script, ct);

    private IReadOnlyList<string> NodeScoped(IReadOnlyList<string> args) =>
        NodeNamespace is null ? args : ["-n", NodeNamespace, .. args];

    private static async Task<string> RunAsync(string program, IReadOnlyList<string> args, string? input, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = input is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var line = $"{program} {string.Join(' ', args)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new TenantNetworkException($"{line}: could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new TenantNetworkException($"{line}: {e.Message} (tenant networks need iproute2's ip and bridge, and nftables' nft)", e);
        }

        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(CommandTimeout);
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                if (input is not null)
                {
                    await process.StandardInput.WriteAsync(new StringBuilder(input), timeout.Token);
                    process.StandardInput.Close();
                }

                await process.WaitForExitAsync(timeout.Token);
                var output = await stdout;
                var error = await stderr;
                if (process.ExitCode != 0)
                {
                    var what = input is null ? line : $"{line} <<< {input.Trim().Replace('\n', ';')}";
                    throw new TenantNetworkException($"{what}: exit {process.ExitCode}: {error.Trim()}");
                }

                return output;
            }
            catch (OperationCanceledException) when (!process.HasExited)
            {
                process.Kill();
                if (ct.IsCancellationRequested)
                {
                    throw;
                }

                throw new TenantNetworkException($"{line}: took longer than {CommandTimeout.TotalSeconds} s and was killed");
            }
        }
    }
}
