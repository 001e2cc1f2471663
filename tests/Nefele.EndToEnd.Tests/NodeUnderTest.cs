using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Tenants;
using Nefele.Testing;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// One real node: nefele-hostd and nefele-silo as child processes, on their own ports,
/// node name, run directory and cgroup subtree. Disposing stops the silo, then hostd with
/// SIGTERM, which stops every process it started; the run directory is removed.
/// </summary>
public sealed class NodeUnderTest : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _log = new();
    private Process? _hostd;
    private string[] _hostdArgs = [];
    private string[] _siloArgs = [];
    private IReadOnlyDictionary<string, string>? _env;
    private Process? _silo;
    private readonly string _adminKeySpec;
    private NefeleConnection? _sdk;

    private NodeUnderTest(string name)
    {
        Name = name;
        RunDir = Path.Combine(Path.GetTempPath(), "nefele-e2e", name);
        ApiPort = FreePort.Next();
        SiloPort = FreePort.Next();
        GatewayPort = FreePort.Next();
        (AdminKey, var keyId, var keyHash) = ApiKeys.Create();
        _adminKeySpec = $"{keyId}:{keyHash}";
        Http = new HttpClient { BaseAddress = new Uri(ApiUrl), Timeout = TimeSpan.FromSeconds(60) };
        Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminKey);
        Anonymous = new HttpClient { BaseAddress = new Uri(ApiUrl), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The node's bootstrap admin key (as scripts/up makes one): Http, the SDK and nef use it.</summary>
    public string AdminKey { get; }

    /// <summary>An HTTP client without a credential.</summary>
    public HttpClient Anonymous { get; }

    public string Name { get; }

    public string RunDir { get; }

    public int ApiPort { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public string ApiUrl => $"http://127.0.0.1:{ApiPort}";

    public string ApiSocket => Path.Combine(RunDir, "api.sock");

    public HttpClient Http { get; }

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

    public static Task<NodeUnderTest> StartAsync(string? name = null, params string[] hostdArgs) => StartAsync(name, hostdArgs, []);

    /// <summary>Starts a node with extra hostd and silo flags.</summary>
    public static Task<NodeUnderTest> StartAsync(string? name, string[] hostdArgs, string[] siloArgs) => StartAsync(name, hostdArgs, siloArgs, null);

    /// <summary>Starts a node with extra hostd and silo flags, and <paramref name="env"/> added to both programs' environment.</summary>
    public static async Task<NodeUnderTest> StartAsync(string? name, string[] hostdArgs, string[] siloArgs, IReadOnlyDictionary<string, string>? env)
    {
        var node = new NodeUnderTest(name ?? "e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(node.RunDir);
        node._hostdArgs = hostdArgs;
        node._siloArgs = siloArgs;
        node._env = env;
        node.StartHostd();
        await node.StartSiloAsync();
        return node;
    }

    /// <summary>Starts (or restarts) the silo and waits until its hostd is attached.</summary>
    public async Task StartSiloAsync()
    {
        _silo = Launch("silo", RepoPaths.Dll("Nefele.Silo", "nefele-silo"),
            ["--node", Name, "--hostd-socket", Path.Combine(RunDir, "control.sock"), "--api", ApiUrl,
             "--silo-port", SiloPort.ToString(), "--gateway-port", GatewayPort.ToString(),
             "--admin-key", _adminKeySpec, "--Logging:LogLevel:Default=Warning", .. _siloArgs]);
        using var deadline = new CancellationTokenSource(StartTimeout);
        while (true)
        {
            if (_silo.HasExited)
            {
                throw new InvalidOperationException($"silo exited with {_silo.ExitCode} during start-up:\n{Log}");
            }

            try
            {
                using var response = await Anonymous.GetAsync("/healthz", deadline.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"node {Name} not healthy within {StartTimeout}:\n{Log}");
            }

            // Polling a start-up probe, bounded by the deadline above.
            await Task.Delay(100, deadline.Token);
        }
    }

    /// <summary>Starts hostd (again) on this node's run directory; the silo reattaches by itself.</summary>
    public void StartHostd() =>
        _hostd = Launch("hostd", RepoPaths.Dll("Nefele.HostAgent", "nefele-hostd"),
            ["--node", Name, "--run-dir", RunDir, "--shim", RepoPaths.Native("libnefele-shim.so"),
             "--spawn-lib", RepoPaths.Native("libnefele-spawn.so"), "--stop-grace", "2s", .. _hostdArgs]);

    /// <summary>Kills hostd outright (SIGKILL): its processes are orphaned, the silo stays.</summary>
    public async Task KillHostdAsync()
    {
        _hostd!.Kill();
        await _hostd.WaitForExitAsync();
    }

    /// <summary>Kills the silo outright (SIGKILL): hostd and its processes stay.</summary>
    public async Task KillSiloAsync()
    {
        if (_sdk is not null)
        {
            await _sdk.DisposeAsync();
            _sdk = null;
        }

        _silo!.Kill();
        await _silo.WaitForExitAsync();
    }

    /// <summary>The C# SDK with the admin key, connected to this node's gateway (connects once); the tenant is created if it does not exist.</summary>
    public async Task<NefeleTenant> SdkAsync(string tenant = "default")
    {
        _sdk ??= await ConnectAsync(AdminKey);
        await EnsureTenantAsync(_sdk, tenant);
        return _sdk.Tenant(tenant);
    }

    /// <summary>The SDK connection with the admin key (connects once).</summary>
    public async Task<NefeleConnection> AdminAsync()
    {
        await SdkAsync();
        return _sdk!;
    }

    /// <summary>Creates the tenant unless it exists.</summary>
    public static Task<TenantInfo> EnsureTenantAsync(NefeleConnection admin, string tenant) => admin.Admin.EnsureTenantAsync(tenant);

    /// <summary>A new connection with <paramref name="key"/> (a tenant's key); the caller disposes it.</summary>
    public Task<NefeleConnection> ConnectAsync(string key) => NefeleConnection.ConnectAsync(Options(key));

    /// <summary>Client options for this node's gateway with <paramref name="key"/>.</summary>
    public NefeleClientOptions Options(string key) => new() { Gateways = { $"127.0.0.1:{GatewayPort}" }, ApiKey = key };

    /// <summary>Creates a key of <paramref name="tenant"/> (created if needed) with the admin key; returns the token.</summary>
    public async Task<string> CreateKeyAsync(string tenant, string name, Nefele.Client.Role role = Nefele.Client.Role.Member, DateTimeOffset? expiresAt = null)
    {
        await SdkAsync(tenant);
        var key = await _sdk!.Admin.CreateKeyAsync(tenant, name, role, expiresAt);
        return key.Token;
    }

    /// <summary>Runs bin/nef against this node with the admin key and returns its exit code and output.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> NefAsync(params string[] args) =>
        await NefAsAsync(AdminKey, args);

    /// <summary>Runs bin/nef against this node with <paramref name="key"/> (null: no key at all).</summary>
    public async Task<(int Code, string Stdout, string Stderr)> NefAsAsync(string? key, params string[] args) =>
        await RunAsync(Path.Combine(RepoPaths.Root, "bin", "nef"), args, new Dictionary<string, string?>
        {
            ["NEFELE_API"] = ApiUrl,
            [CredentialSources.TokenVariable] = key,
            // Never fall back to a key of the machine's own node.
            [CredentialSources.AdminKeyFileVariable] = "/nonexistent",
            ["XDG_CONFIG_HOME"] = "/nonexistent",
        });

    public static Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, IDictionary<string, string?>? env = null, TimeSpan? timeout = null) =>
        Command.RunAsync(file, args, env, timeout);

    public async ValueTask DisposeAsync()
    {
        if (_sdk is not null)
        {
            await _sdk.DisposeAsync();
        }

        Http.Dispose();
        Anonymous.Dispose();
        await StopAsync(_silo, kill: false);
        await StopAsync(_hostd, kill: false);
        try
        {
            Directory.Delete(RunDir, recursive: true);
        }
        catch (IOException)
        {
            // A process's own child may still hold a file; the temp dir is reused by nobody.
        }
    }

    private static async Task StopAsync(Process? p, bool kill)
    {
        if (p is null || p.HasExited)
        {
            return;
        }

        if (kill)
        {
            p.Kill();
        }
        else
        {
            Interop.Kill(p.Id, 15);
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
        }
    }

    private Process Launch(string tag, string dll, IEnumerable<string> args) => DotnetChild.Start(tag, dll, args, _log, _env);
}
