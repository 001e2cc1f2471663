using System.Globalization;
using Nefele.Client;

namespace Nefele.Example.Webserver;

/// <summary>The command line of nefele-webserver.</summary>
internal sealed record ClientOptions
{
    public const string Usage = """
        usage: nefele-webserver --worker PATH [options]
          --worker PATH        the C worker (webserver-worker), as a path every node can run
          --workers N          the pool's size (default 3)
          --requests N         stop once N requests are answered (default 0: until Ctrl-C)
          --rate N             requests sent per second (default 50)
          --timeout MS         resend a request not answered within this (default 2000)
          --tenant NAME        (default: the key's default tenant)
          --supervisor NAME    the durable supervisor's name (default webserver-pool)
          --keep               leave the supervisor running at the end
          --gateway HOST:PORT  a node's gateway (repeatable; default the local node)
          --redis HOST:PORT    a cluster's Redis instead of gateways (needs --cluster-id)
          --cluster-id ID      the cluster's id
          --tls DIR            mutual TLS with DIR/ca.pem, DIR/client.pem, DIR/client.key
        The API key comes from NEFELE_TOKEN, ~/.config/nefele/config or the node's admin key.
        """;

    public required string WorkerPath { get; init; }

    public int Workers { get; init; } = 3;

    public int Requests { get; init; }

    public int Rate { get; init; } = 50;

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    public string? Tenant { get; init; }

    public string Supervisor { get; init; } = "webserver-pool";

    public bool KeepSupervisor { get; init; }

    public IReadOnlyList<string> Gateways { get; init; } = [];

    public string? Redis { get; init; }

    public string? ClusterId { get; init; }

    public string? TlsDir { get; init; }

    public static ClientOptions Parse(string[] args)
    {
        string? worker = null, tenant = null, redis = null, clusterId = null, tls = null;
        var (workers, requests, rate, timeoutMs, supervisor, keep) = (3, 0, 50, 2000, "webserver-pool", false);
        var gateways = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Number(int min, int max)
            {
                var name = args[i];
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                    ? n
                    : throw new ArgumentException($"{name} {text}: must be a whole number from {min} to {max}");
            }

            switch (args[i])
            {
                case "--worker": worker = Value(); break;
                case "--workers": workers = Number(1, 1000); break;
                case "--requests": requests = Number(0, int.MaxValue); break;
                case "--rate": rate = Number(1, 100_000); break;
                case "--timeout": timeoutMs = Number(10, 600_000); break;
                case "--tenant": tenant = Value(); break;
                case "--supervisor": supervisor = Value(); break;
                case "--keep": keep = true; break;
                case "--gateway": gateways.Add(Value()); break;
                case "--redis": redis = Value(); break;
                case "--cluster-id": clusterId = Value(); break;
                case "--tls": tls = Value(); break;
                default: throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        if (worker is null || !Path.IsPathRooted(worker))
        {
            throw new ArgumentException("--worker needs the absolute path of the worker program");
        }

        if (redis is not null && gateways.Count > 0)
        {
            throw new ArgumentException("give --redis or --gateway, not both");
        }

        return new ClientOptions
        {
            WorkerPath = worker,
            Workers = workers,
            Requests = requests,
            Rate = rate,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            Tenant = tenant,
            Supervisor = supervisor,
            KeepSupervisor = keep,
            Gateways = gateways,
            Redis = redis,
            ClusterId = clusterId,
            TlsDir = tls,
        };
    }

    public Task<NefeleConnection> ConnectAsync()
    {
        var options = new NefeleClientOptions();
        if (ClusterId is not null)
        {
            options.ClusterId = ClusterId;
        }

        foreach (var g in Gateways)
        {
            options.Gateways.Add(g);
        }

        if (TlsDir is not null)
        {
            options.TlsCaFile = Path.Combine(TlsDir, "ca.pem");
            options.TlsCertificateFile = Path.Combine(TlsDir, "client.pem");
            options.TlsKeyFile = Path.Combine(TlsDir, "client.key");
        }

        return Redis is null ? NefeleConnection.ConnectAsync(options) : NefeleCluster.ConnectAsync(Redis, options);
    }
}
