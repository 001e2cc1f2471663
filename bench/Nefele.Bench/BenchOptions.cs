using Nefele.Client;

namespace Nefele.Bench;

internal sealed record BenchOptions(int GatewayPort, string NativeDir, int N, string Out)
{
    public const string Usage = "usage: nefele-bench spawn --gateway-port P --native DIR [--n 200] [--out FILE] [--api URL --nef PATH --nef-installed DIR [--cli-n 50]] [--methods M,M...] [--gateway HOST:PORT --cluster-id ID --tls-dir DIR --near SELECTOR --far SELECTOR --far-gateway HOST:PORT] [--systemd-bus ADDRESS --systemd-pid PID]";

    /// <summary>The methods a run may choose with --methods; the peers and the cli methods go by group.</summary>
    public static readonly IReadOnlyList<string> MethodNames = ["posix_spawn", "bash", "nefele_spawn", "nefele_spawn_until_exit", "crash_notify", "supervise_restart", "peers", "cli", "systemd_raw", "systemd_run_testbed"];

    /// <summary>Spawns before measuring, so the node's code paths are compiled and its caches warm (steady state).</summary>
    public int Warmup { get; init; } = 300;

    /// <summary>The node's REST API, for <c>cli_spawn</c>; none skips it.</summary>
    public string? Api { get; init; }

    /// <summary>The checkout's nef command (bin/nef), timed by <c>cli_*_bin_nef</c>; none skips the cli methods.</summary>
    public string? Nef { get; init; }

    /// <summary>A directory holding an installed nef (the native executable), put first on PATH for <c>cli_spawn</c> and <c>cli_ps</c>.</summary>
    public string? NefInstalled { get; init; }

    /// <summary>Runs of <c>nef spawn</c>: each is a process start, so fewer than the in-process methods by default.</summary>
    public int CliN { get; init; } = 50;

    /// <summary>The methods to run (--methods, comma-separated from <see cref="MethodNames"/>); every one when not given.</summary>
    public IReadOnlySet<string>? Methods { get; init; }

    /// <summary>A gateway as HOST:PORT (a node of a cluster), instead of 127.0.0.1:--gateway-port.</summary>
    public string? Gateway { get; init; }

    /// <summary>The cluster's id (its silos' --cluster-id); the default one when not given.</summary>
    public string? ClusterId { get; init; }

    /// <summary>A directory holding the cluster's CA and a program certificate (ca.pem, client.pem, client.key): the gateway link is mutual TLS.</summary>
    public string? TlsDir { get; init; }

    /// <summary>An affinity selector of the node the client connects through: every process of the one-node figures is placed there.</summary>
    public string? Near { get; init; }

    /// <summary>An affinity selector of another node: the same figures are taken again with the processes placed there (methods suffixed _cross_node).</summary>
    public string? Far { get; init; }

    /// <summary>The gateway (HOST:PORT) of the node <see cref="Far"/> selects: the supervisor figures watch a supervisor through its own node.</summary>
    public string? FarGateway { get; init; }

    /// <summary>The bus of the systemd the node's systemd engine uses (scripts/bench spawn --engine systemd): its baselines run there.</summary>
    public string? SystemdBus { get; init; }

    /// <summary>That systemd's pid here, for systemd-run inside its namespaces; 0 when it is the host's.</summary>
    public int SystemdPid { get; init; }

    /// <summary>Whether this run includes <paramref name="method"/>.</summary>
    public bool Runs(string method) => Methods is null || Methods.Contains(method);

    public static BenchOptions Parse(string[] args)
    {
        if (args.Length == 0 || args[0] != "spawn")
        {
            throw new ArgumentException(Usage);
        }

        int gateway = NefeleDefaults.GatewayPort, n = 200, cliN = 50;
        string native = "native/build", output = "bench/results/spawn.json";
        string? api = null, nef = null, nefInstalled = null, gatewayAddress = null, clusterId = null, tlsDir = null, near = null, far = null, farGateway = null;
        HashSet<string>? methods = null;
        string? systemdBus = null;
        var systemdPid = 0;
        for (var i = 1; i < args.Length; i += 2)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--gateway-port": gateway = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--native": native = value; break;
                case "--n": n = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--cli-n": cliN = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--out": output = value; break;
                case "--api": api = value; break;
                case "--nef": nef = value; break;
                case "--nef-installed": nefInstalled = value; break;
                case "--methods": methods = ParseMethods(value); break;
                case "--gateway": gatewayAddress = value; break;
                case "--cluster-id": clusterId = value; break;
                case "--tls-dir": tlsDir = value; break;
                case "--near": near = ParseSelector(args[i], value); break;
                case "--far": far = ParseSelector(args[i], value); break;
                case "--far-gateway": farGateway = value; break;
                case "--systemd-bus": systemdBus = value; break;
                case "--systemd-pid": systemdPid = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}; {Usage}");
            }
        }

        if (n < 1 || cliN < 1)
        {
            throw new ArgumentException("--n and --cli-n must be at least 1");
        }

        return new BenchOptions(gateway, native, n, output)
        {
            Api = api, Nef = nef, NefInstalled = nefInstalled, CliN = cliN, Methods = methods,
            Gateway = gatewayAddress, ClusterId = clusterId, TlsDir = tlsDir, Near = near, Far = far, FarGateway = farGateway,
            SystemdBus = systemdBus, SystemdPid = systemdPid,
        };
    }

    private static string ParseSelector(string option, string value) =>
        Nefele.Placement.Selector.TryParse(value, out _) ? value : throw new ArgumentException($"{option} {value}: not npid:<NPID>, name:<name> or label:<key>=<value>");

    private static HashSet<string> ParseMethods(string value)
    {
        var methods = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        if (methods.Count == 0 || !methods.All(MethodNames.Contains))
        {
            throw new ArgumentException($"--methods {value}: each must be one of {string.Join(", ", MethodNames)}");
        }

        return methods;
    }
}
