using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// A real three-node cluster made by <c>scripts/cluster up 3</c> in an environment of its own
/// (prefix nct, subnet 10.79.0, a temporary state directory under the system's temporary folder,
/// a random cluster id; NEFELE_CLUSTER_PREFIX, NEFELE_CLUSTER_SUBNET and NEFELE_CLUSTER_DIR, when
/// set, choose others, so that two runs of these tests on one machine keep apart), so it runs
/// beside a developer's cluster. Node 1 is zone=a, node 2 zone=b, node 3 zone=c with one GPU;
/// a node added later is zone=d. The REST client and the SDK use the cluster's admin key
/// (STATE/admin.key, made by scripts/cluster); the SDK connects over mutual TLS with the program
/// certificate scripts/cluster made. <c>scripts/cluster down</c> runs on dispose, whatever happened.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly string Prefix = Environment.GetEnvironmentVariable("NEFELE_CLUSTER_PREFIX") is { Length: > 0 } p ? p : "nct";
    public static readonly string Subnet = Environment.GetEnvironmentVariable("NEFELE_CLUSTER_SUBNET") is { Length: > 0 } s ? s : "10.79.0";
    private static readonly string StateParent = Environment.GetEnvironmentVariable("NEFELE_CLUSTER_DIR") is { Length: > 0 } d ? d : Path.GetTempPath();
    public const int InitialNodes = 3;
    public static readonly TimeSpan RejoinBound = TimeSpan.FromSeconds(120);

    private static readonly TimeSpan ScriptBound = TimeSpan.FromSeconds(180);
    private NefeleConnection? _sdk;

    public ClusterFixture()
    {
        StateDir = Path.Combine(StateParent, $"{Prefix}-{Guid.NewGuid():N}"[..(Prefix.Length + 13)]);
        ClusterId = $"{Prefix}-{Guid.NewGuid():N}"[..(Prefix.Length + 9)];
        Http = new HttpClient { BaseAddress = new Uri(Api(1)), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string StateDir { get; }

    public string ClusterId { get; }

    /// <summary>The cluster's admin key, as scripts/cluster made it (null until the cluster is up).</summary>
    public string? AdminKey { get; private set; }

    /// <summary>The program certificate scripts/cluster made (STATE/tls/client.pem) and the cluster's CA (null until the cluster is up).</summary>
    public NefeleTls? Tls { get; private set; }

    /// <summary>Client options for this cluster with the admin key and the cluster's TLS; <paramref name="gateways"/> empty: through Redis.</summary>
    public NefeleClientOptions Options(params System.Net.IPEndPoint[] gateways)
    {
        var options = new NefeleClientOptions { ClusterId = ClusterId, ApiKey = AdminKey };
        foreach (var g in gateways)
        {
            options.Gateways.Add(g.ToString());
        }

        return Tls is null ? options : options.UseTls(Tls);
    }

    public string TlsDir => Path.Combine(StateDir, "tls");

    /// <summary>Node 1's REST API (node 1 is never damaged by a test).</summary>
    public HttpClient Http { get; }

    public static string NodeName(int k) => $"{Prefix}-n{k}";

    public static string Api(int k) => $"http://{Subnet}.{10 + k}:7400";

    public static string Redis => $"{Subnet}.1:6379";

    public static string Zone(int k) => k switch { 1 => "a", 2 => "b", 3 => "c", _ => "d" };

    public async Task InitializeAsync()
    {
        // scripts/test (or dotnet build) builds first; this fixture never does.
        var missing = new[]
        {
            Built(() => RepoPaths.Dll("Nefele.Silo", "nefele-silo")),
            Built(() => RepoPaths.Dll("Nefele.HostAgent", "nefele-hostd")),
            Built(() => RepoPaths.Native("libnefele-shim.so")),
            Built(() => RepoPaths.Native("libnefele-spawn.so")),
        }.OfType<string>().ToArray();
        if (missing.Length > 0)
        {
            throw new InvalidOperationException(
                $"the multi-node tests need a build: {string.Join("; ", missing)}. Run scripts/test, or make -C native and dotnet build -c {RepoPaths.Configuration}");
        }

        Directory.CreateDirectory(StateDir);
        try
        {
            // Whatever an interrupted earlier run left under this prefix (its namespaces) goes first.
            await ScriptAsync("down");
            await ScriptAsync("up", InitialNodes.ToString());
            AdminKey = (await File.ReadAllLinesAsync(Path.Combine(StateDir, "admin.key")))[0].Trim();
            Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
            Tls = NefeleTls.FromPemFiles(Path.Combine(TlsDir, "ca.pem"), Path.Combine(TlsDir, "client.pem"), Path.Combine(TlsDir, "client.key"));
            _sdk = await NefeleCluster.ConnectAsync(Redis, Options()).WaitAsync(TimeSpan.FromSeconds(60));
            await WaitForNodesAsync(Enumerable.Range(1, InitialNodes), TimeSpan.FromSeconds(60));
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (_sdk is not null)
            {
                await _sdk.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                _sdk = null;
            }
        }
        catch (Exception)
        {
            // The cluster goes down next regardless.
        }

        try
        {
            await ScriptAsync("down");
        }
        finally
        {
            Http.Dispose();
            if (Environment.GetEnvironmentVariable("NEFELE_CLUSTER_TESTS_KEEP") != "1")
            {
                try
                {
                    Directory.Delete(StateDir, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    /// <summary>A tenant of its own for one test (created, with the admin key), so ps and name selectors see only that test's processes.</summary>
    public async Task<NefeleTenant> TenantAsync(string name)
    {
        var sdk = _sdk ?? throw new InvalidOperationException("cluster not up");
        await sdk.Admin.EnsureTenantAsync(name);
        return sdk.Tenant(name);
    }

    /// <summary>Runs scripts/cluster with this cluster's environment; throws with its output unless it succeeds.</summary>
    public async Task<string> ScriptAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(RepoPaths.Root, "scripts", "cluster"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["NEFELE_CLUSTER_PREFIX"] = Prefix;
        psi.Environment["NEFELE_CLUSTER_SUBNET"] = Subnet;
        psi.Environment["NEFELE_CLUSTER_DIR"] = StateDir;
        psi.Environment["NEFELE_CLUSTER_ID"] = ClusterId;
        psi.Environment["NEFELE_CLUSTER_NO_BUILD"] = "1";
        psi.Environment["NEFELE_CLUSTER_STOP_GRACE"] = "2s";
        psi.Environment["NEFELE_CONFIG"] = RepoPaths.Configuration;
        psi.Environment.Remove("NEFELE_CLUSTER_NODE_PREFIX");
        for (var k = 1; k <= 9; k++)
        {
            psi.Environment[$"NEFELE_CLUSTER_SILO_ARGS_{k}"] = k == 3 ? "--device gpu=1 --label zone=c" : $"--label zone={Zone(k)}";
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(ScriptBound);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/cluster {string.Join(' ', args)} did not finish within {ScriptBound}");
        }

        var output = await stdout + await stderr;
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/cluster {string.Join(' ', args)} exited {p.ExitCode}:\n{output}");
        }

        return output;
    }

    /// <summary>
    /// Brings the cluster back to what every test starts from: nodes 1..3 running, connected and
    /// listed active by node 1, and no other node running. A node an earlier test left killed or
    /// stopped is started, a cut-off one healed, an added one stopped. Quick when nothing is amiss.
    /// </summary>
    public async Task RestoreAsync(Action<string> log)
    {
        var initial = Enumerable.Range(1, InitialNodes).ToArray();
        if (await ActiveNodesAsync(Http) is { } active && active.SetEquals(initial.Select(NodeName)) && !Directory.EnumerateFiles(StateDir, "partitioned", SearchOption.AllDirectories).Any())
        {
            return;
        }

        foreach (var line in (await ScriptAsync("status")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // name address state silo=.. hostd=.. healthz=.. connected|partitioned restarts=N
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 7 || !fields[0].StartsWith(Prefix + "-n", StringComparison.Ordinal) || !int.TryParse(fields[0][(Prefix.Length + 2)..], out var k))
            {
                continue;
            }

            var (state, partitioned) = (fields[2], fields[6] == "partitioned");
            if (partitioned)
            {
                log($"restoring the cluster: healing node {k}, left cut off");
                await ScriptAsync("heal", k.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (k <= InitialNodes && state != "running")
            {
                log($"restoring the cluster: starting node {k}, left {state}");
                await ScriptAsync("start", k.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            else if (k > InitialNodes && state == "running")
            {
                log($"restoring the cluster: stopping node {k}, added earlier");
                await ScriptAsync("stop", k.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        await WaitForNodesAsync(initial, RejoinBound);
    }

    /// <summary>The node names the API of node <paramref name="k"/> lists as active, or null if it does not answer.</summary>
    public static async Task<IReadOnlySet<string>?> ActiveNodesAsync(HttpClient http)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var doc = JsonDocument.Parse(await http.GetStringAsync("/v1/nodes", cts.Token));
            return doc.RootElement.GetProperty("nodes").EnumerateArray()
                .Select(n => n.GetProperty("node").GetString()!).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Until node 1's API lists exactly these nodes as active (and each answers /healthz).</summary>
    public async Task WaitForNodesAsync(IEnumerable<int> nodes, TimeSpan timeout)
    {
        var want = nodes.Select(NodeName).ToHashSet(StringComparer.Ordinal);
        IReadOnlySet<string>? seen = null;
        try
        {
            await Eventually.Until(async () => (seen = await ActiveNodesAsync(Http)) is { } s && s.SetEquals(want), timeout,
                $"node 1 lists nodes {string.Join(',', want.Order())}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; it lists {(seen is null ? "nothing (no answer)" : string.Join(',', seen.Order()))}\n{Logs()}", e);
        }
    }

    /// <summary>The last lines of every node's silo log, for failure messages.</summary>
    public string Logs(int lines = 15)
    {
        var text = new StringBuilder($"cluster state in {StateDir}\n");
        foreach (var dir in Directory.Exists(StateDir) ? Directory.GetDirectories(StateDir, "node*").Order() : Enumerable.Empty<string>())
        {
            var log = Path.Combine(dir, "silo.log");
            if (File.Exists(log))
            {
                text.Append("--- ").Append(log).Append('\n');
                foreach (var line in File.ReadLines(log).TakeLast(lines))
                {
                    text.Append(line).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    /// <summary>GET a JSON document from node 1's API.</summary>
    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>POST JSON to node 1's API; returns the status and the parsed body (if any).</summary>
    public async Task<(int Status, JsonElement? Body)> PostJsonAsync(string path, object body)
    {
        using var response = await Http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string? Built(Func<string> path)
    {
        try
        {
            path();
            return null;
        }
        catch (FileNotFoundException e)
        {
            return e.FileName;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
