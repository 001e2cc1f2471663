using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Nodes;
using Nefele.Processes;
using Nefele.Tenants;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The attack suite for credentials and tenants, through REST, the SDK and nef: every attempt gets
/// a clear error, and leaves the victim's process running, its ps -a unchanged and the node serving.
/// </summary>
public sealed class SecurityTests(SecurityFixture fixture) : IClassFixture<SecurityFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly string[] SleepArgs = ["60"];
    private IReadOnlyList<string> _victimBefore = [];

    private NodeUnderTest Node => fixture.Node;

    public async Task InitializeAsync() => _victimBefore = await VictimPsAllAsync();

    /// <summary>After every attack: the victim's process still runs, nothing was added to its tenant, both components serve.</summary>
    public async Task DisposeAsync()
    {
        var info = await fixture.VictimAdmin.GetAsync(fixture.VictimNpid);
        Assert.Equal(ProcessState.Running, info.State);
        Assert.True(Interop.IsRunning(info.Pid));
        Assert.Equal(_victimBefore, await VictimPsAllAsync());
        using var health = await Node.Anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Every_route_but_healthz_answers_401_without_a_credential()
    {
        using var document = JsonDocument.Parse(await Node.Http.GetStringAsync("/openapi/v1.json").WaitAsync(Bound));
        var checkedRoutes = 0;
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject())
        {
            var url = path.Name.Replace("{tenant}", SecurityFixture.Victim).Replace("{npid}", fixture.VictimNpid).Replace("{name}", "victim-owner");
            foreach (var operation in path.Value.EnumerateObject())
            {
                using var request = new HttpRequestMessage(new HttpMethod(operation.Name.ToUpperInvariant()), url);
                if (operation.Name is "post" or "put")
                {
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                }

                using var response = await Node.Anonymous.SendAsync(request).WaitAsync(Bound);
                if (url == "/healthz")
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    continue;
                }

                await AssertProblem(response, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated, $"{operation.Name} {url}");
                checkedRoutes++;
            }
        }

        Assert.True(checkedRoutes >= 15, $"only {checkedRoutes} routes in the OpenAPI document");
        using var metrics = await Node.Anonymous.GetAsync("/metrics").WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);
    }

    [Theory]
    [InlineData("Bearer nfk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown API key")]
    [InlineData("Bearer not-a-key", "not a Nefele API key")]
    [InlineData("Basic dXNlcjpwYXNz", "Bearer")]
    [InlineData("Bearer ", "Bearer")]
    public async Task Malformed_and_unknown_keys_are_refused(string authorization, string named)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/tenants/{SecurityFixture.Victim}/processes");
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await Node.Anonymous.SendAsync(request).WaitAsync(Bound);
        var detail = await AssertProblem(response, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated, authorization);
        Assert.Contains(named, detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_secret_for_a_real_key_id_is_refused()
    {
        var real = fixture.VictimKey;
        var forged = real[..^1] + (real[^1] == 'A' ? 'B' : 'A');
        using var response = await SendAs(forged, HttpMethod.Get, $"/v1/tenants/{SecurityFixture.Victim}/processes");
        var detail = await AssertProblem(response, HttpStatusCode.Unauthorized, ErrorCodes.Unauthenticated, "forged key");
        Assert.Equal("unknown API key", detail);
    }

    [Fact]
    public async Task A_tenant_key_touches_no_route_of_another_tenant()
    {
        var victim = $"/v1/tenants/{SecurityFixture.Victim}";
        var npid = fixture.VictimNpid;
        (HttpMethod Method, string Url, object? Body)[] routes =
        [
            (HttpMethod.Post, $"{victim}/spawn", new { tasks = new[] { new { path = "/bin/true" } } }),
            (HttpMethod.Get, $"{victim}/processes", null),
            (HttpMethod.Get, $"{victim}/processes?all=true", null),
            (HttpMethod.Get, $"{victim}/processes/{npid}", null),
            (HttpMethod.Get, $"{victim}/processes/{npid}/events", null),
            (HttpMethod.Get, $"{victim}/processes/{npid}/logs", null),
            (HttpMethod.Post, $"{victim}/processes/{npid}/signal", new { signal = 9 }),
            (HttpMethod.Get, victim, null),
            (HttpMethod.Get, $"{victim}/keys", null),
            (HttpMethod.Post, $"{victim}/keys", new { name = "stolen", role = "owner" }),
            (HttpMethod.Delete, $"{victim}/keys/victim-owner", null),
            (HttpMethod.Delete, victim, null),
            (HttpMethod.Put, $"{victim}/quotas", new { processes = 1 }),
            (HttpMethod.Post, "/v1/tenants", new { name = "made-by-attacker" }),
            (HttpMethod.Get, "/v1/tenants", null),
        ];
        foreach (var (method, url, body) in routes)
        {
            using var response = await SendAs(fixture.AttackerOwner, method, url, body);
            await AssertProblem(response, HttpStatusCode.Forbidden, ErrorCodes.Forbidden, $"{method} {url}");
        }

        // The victim's key still works: nothing was revoked, no tenant was removed.
        using var ok = await SendAs(fixture.VictimKey, HttpMethod.Get, $"{victim}/keys");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task A_tenant_key_touches_no_grain_of_another_tenant_through_the_SDK()
    {
        await using var connection = await Node.ConnectAsync(fixture.AttackerOwner);
        var grains = connection.Grains;
        var victim = new NefeleTenant(grains, SecurityFixture.Victim);
        var npid = fixture.VictimNpid;

        // A process of another tenant looks exactly like no process at all.
        await AssertCode(ErrorCodes.NpidNotFound, () => victim.GetAsync(npid));
        await AssertCode(ErrorCodes.NpidNotFound, () => victim.KillAsync(npid, Signals.SigKill));
        await AssertCode(ErrorCodes.NpidNotFound, () => victim.WaitAsync(npid));
        await AssertCode(ErrorCodes.NpidNotFound, () => victim.ReadLogsAsync(npid));
        await AssertCode(ErrorCodes.NpidNotFound, () => grains.GetGrain<IProcessGrain>(npid).SignalAsync(SecurityFixture.Victim, Signals.SigKill));

        // Tenant-wide calls name the tenant and are refused.
        await AssertCode(ErrorCodes.Forbidden, () => victim.PsAsync(all: true));
        await AssertCode(ErrorCodes.Forbidden, () => victim.SpawnAsync(new ProcessSpec { Path = "/bin/true" }));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<ITenantGrain>(SecurityFixture.Victim).CreateKeyAsync("stolen", Role.Owner, null));

        // Cluster-internal methods are closed to every client, whatever its key.
        var node = (await fixture.VictimAdmin.GetAsync(npid)).Node!;
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<IProcessGrain>(npid).MarkLostAsync("forged"));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<IProcessGrain>(npid).OnExitedAsync(new ProcessEnd { State = ProcessState.Exited }));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<INodeGrain>(node).SignalAsync(npid, Signals.SigKill));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<INodeGrain>(node).ReadLogsAsync(npid, 0, 1024, TimeSpan.Zero));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<INodeGrain>(node).GetUsageAsync());
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<ITenantGrain>(SecurityFixture.Victim).RemoveAsync(npid));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<IApiKeyGrain>("0123456789abcdef").GetAsync());
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<ITenantDirectoryGrain>(ITenantDirectoryGrain.Key).EnsureAsync("made-by-attacker"));

        // Admin methods need an admin key.
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<ITenantDirectoryGrain>(ITenantDirectoryGrain.Key).CreateAsync("made-by-attacker", true, new TenantQuotas()));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<INodeDirectoryGrain>(INodeDirectoryGrain.Key).AddHollowAsync(3, new HollowNode { Name = HollowNode.Prefix, CpuMillis = 64000, MemoryBytes = 1L << 40 }));
        await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<INodeDirectoryGrain>(INodeDirectoryGrain.Key).RemoveHollowAsync());

        // Its own tenant works with the same connection.
        Assert.Empty(await new NefeleTenant(grains, SecurityFixture.Attacker).PsAsync());
    }

    [Fact]
    public async Task A_plain_Orleans_client_without_a_key_is_refused_on_every_call()
    {
        using var host = Host.CreateDefaultBuilder()
            .UseOrleansClient(client =>
            {
                client.UseStaticClustering(new IPEndPoint(IPAddress.Loopback, Node.GatewayPort));
                client.Configure<Orleans.Configuration.ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (NefeleDefaults.ClusterId, NefeleDefaults.ServiceId));
            })
            .Build();
        await host.StartAsync();
        try
        {
            var grains = host.Services.GetRequiredService<IClusterClient>();
            await AssertCode(ErrorCodes.Unauthenticated, () => grains.GetGrain<IProcessGrain>(fixture.VictimNpid).GetAsync(SecurityFixture.Victim));
            await AssertCode(ErrorCodes.Unauthenticated, () => grains.GetGrain<ITenantGrain>(SecurityFixture.Victim).PsAsync(false));
            await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<IProcessGrain>(fixture.VictimNpid).MarkLostAsync("forged"));

            // A made-up "cluster secret" is no cluster secret.
            Orleans.Runtime.RequestContext.Set(CallCredentials.System, "guessed");
            await AssertCode(ErrorCodes.Forbidden, () => grains.GetGrain<IProcessGrain>(fixture.VictimNpid).MarkLostAsync("forged"));
        }
        finally
        {
            Orleans.Runtime.RequestContext.Clear();
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_viewer_reads_but_cannot_spawn_signal_or_manage_keys()
    {
        var attacker = $"/v1/tenants/{SecurityFixture.Attacker}";
        using (var ps = await SendAs(fixture.AttackerViewer, HttpMethod.Get, $"{attacker}/processes"))
        {
            Assert.Equal(HttpStatusCode.OK, ps.StatusCode);
        }

        using (var spawn = await SendAs(fixture.AttackerViewer, HttpMethod.Post, $"{attacker}/spawn", new { tasks = new[] { new { path = "/bin/true" } } }))
        {
            var detail = await AssertProblem(spawn, HttpStatusCode.Forbidden, ErrorCodes.Forbidden, "viewer spawn");
            Assert.Contains("viewer", detail, StringComparison.Ordinal);
        }

        using (var keys = await SendAs(fixture.AttackerMember, HttpMethod.Post, $"{attacker}/keys", new { name = "escalated", role = "owner" }))
        {
            await AssertProblem(keys, HttpStatusCode.Forbidden, ErrorCodes.Forbidden, "member creates a key");
        }

        await using var connection = await Node.ConnectAsync(fixture.AttackerViewer);
        var tenant = new NefeleTenant(connection.Grains, SecurityFixture.Attacker);
        Assert.Empty(await tenant.PsAsync());
        await AssertCode(ErrorCodes.Forbidden, () => tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true" }));

        var (code, _, stderr) = await Node.NefAsAsync(fixture.AttackerViewer, "--tenant", SecurityFixture.Attacker, "spawn", "--", "/bin/true");
        Assert.Equal(1, code);
        Assert.Contains("needs member", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_revoked_key_is_refused_on_every_door()
    {
        var key = await Node.CreateKeyAsync(SecurityFixture.Attacker, "soon-revoked", Role.Member);
        await using var connection = await Node.ConnectAsync(key);
        var tenant = new NefeleTenant(connection.Grains, SecurityFixture.Attacker);
        Assert.Empty(await tenant.PsAsync());

        using (var revoke = await SendAs(fixture.AttackerOwner, HttpMethod.Delete, $"/v1/tenants/{SecurityFixture.Attacker}/keys/soon-revoked"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        await Eventually.Until(async () =>
        {
            using var response = await SendAs(key, HttpMethod.Get, $"/v1/tenants/{SecurityFixture.Attacker}/processes");
            return response.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(10), "the revoked key is refused over REST");
        await AssertCode(ErrorCodes.Unauthenticated, () => tenant.PsAsync());
        var (code, _, stderr) = await Node.NefAsAsync(key, "--tenant", SecurityFixture.Attacker, "ps");
        Assert.Equal(1, code);
        Assert.Contains("revoked", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        string key;
        using (var created = await SendAs(fixture.AttackerOwner, HttpMethod.Post, $"/v1/tenants/{SecurityFixture.Attacker}/keys", new { name = "short-lived", expiresInSeconds = 1 }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            key = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        }

        string? detail = null;
        await Eventually.Until(async () =>
        {
            using var response = await SendAs(key, HttpMethod.Get, $"/v1/tenants/{SecurityFixture.Attacker}/processes");
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                return false;
            }

            detail = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString();
            return true;
        }, TimeSpan.FromSeconds(10), "the key is refused once it expired");
        Assert.Contains("expired", detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/x")]
    [InlineData("..")]
    [InlineData("a b")]
    [InlineData("UPPER")]
    [InlineData("-leading")]
    [InlineData("")]
    public async Task Bad_tenant_names_are_refused_at_every_door(string name)
    {
        using (var create = await Node.Http.PostAsJsonAsync("/v1/tenants", new { name }).WaitAsync(Bound))
        {
            await AssertProblem(create, HttpStatusCode.BadRequest, ErrorCodes.BadRequest, $"create '{name}'");
        }

        var admin = await Node.AdminAsync();
        var e = Assert.Throws<NefeleException>(() => new NefeleTenant(admin.Grains, name));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("tenant name", e.Message, StringComparison.Ordinal);

        Assert.DoesNotContain(await ListTenantNamesAsync(), t => t == name);
    }

    public static TheoryData<string, string> OversizedSpecs() => new()
    {
        { "too many args", "args" },
        { "args too long", "args" },
        { "too many env variables", "env" },
        { "env too large", "env" },
    };

    [Theory]
    [MemberData(nameof(OversizedSpecs))]
    public async Task Oversized_args_and_env_are_refused_at_admission_and_place_nothing(string what, string named)
    {
        var spec = what switch
        {
            "too many args" => new ProcessSpec { Path = "/bin/true", Args = Enumerable.Repeat("x", Validation.Limits.MaxArgs + 1).ToArray() },
            "args too long" => new ProcessSpec { Path = "/bin/true", Args = [new string('a', Validation.Limits.MaxCommandLineBytes)] },
            "too many env variables" => new ProcessSpec
            {
                Path = "/bin/true",
                Env = Enumerable.Range(0, Validation.Limits.MaxEnvVars + 1).ToDictionary(i => $"V{i}", _ => "1"),
            },
            _ => new ProcessSpec { Path = "/bin/true", Env = new Dictionary<string, string> { ["BIG"] = new string('e', Validation.Limits.MaxEnvBytes) } },
        };
        var before = await PsAllAsync(SecurityFixture.Attacker);

        using (var response = await SendAs(fixture.AttackerMember, HttpMethod.Post, $"/v1/tenants/{SecurityFixture.Attacker}/spawn",
            new { tasks = new[] { Body(spec) } }))
        {
            var detail = await AssertProblem(response, HttpStatusCode.BadRequest, ErrorCodes.BadRequest, $"REST, {what}");
            Assert.Contains(named, detail, StringComparison.Ordinal);
        }

        await using (var connection = await Node.ConnectAsync(fixture.AttackerMember))
        {
            var e = await Assert.ThrowsAsync<NefeleException>(() => connection.Tenant(SecurityFixture.Attacker).SpawnAsync(spec).WaitAsync(Bound));
            Assert.Equal(ErrorCodes.BadRequest, e.Code);
            Assert.Contains(named, e.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, await PsAllAsync(SecurityFixture.Attacker));

        static Dictionary<string, object> Body(ProcessSpec spec)
        {
            var task = new Dictionary<string, object> { ["path"] = spec.Path };
            if (spec.Args is { Count: > 0 } args)
            {
                task["args"] = args;
            }

            if (spec.Env is { Count: > 0 } env)
            {
                task["env"] = env;
            }

            return task;
        }
    }

    [Fact]
    public async Task A_200_character_tenant_name_is_refused()
    {
        var name = new string('a', 200);
        using var create = await Node.Http.PostAsJsonAsync("/v1/tenants", new { name }).WaitAsync(Bound);
        await AssertProblem(create, HttpStatusCode.BadRequest, ErrorCodes.BadRequest, "200 characters");
        using var route = await Node.Http.GetAsync($"/v1/tenants/{name}/processes").WaitAsync(Bound);
        await AssertProblem(route, HttpStatusCode.BadRequest, ErrorCodes.BadRequest, "200 characters in a route");
        var (code, _, stderr) = await Node.NefAsync("--tenant", name, "ps");
        Assert.NotEqual(0, code);
        Assert.Contains("tenant name", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(1000000)]
    public async Task Impossible_counts_are_refused_and_place_nothing(int count)
    {
        var before = await PsAllAsync(SecurityFixture.Attacker);
        using var response = await SendAs(fixture.AttackerMember, HttpMethod.Post, $"/v1/tenants/{SecurityFixture.Attacker}/spawn",
            new { count, tasks = new[] { new { path = "/bin/sleep", args = SleepArgs } } });
        var detail = await AssertProblem(response, HttpStatusCode.BadRequest, ErrorCodes.BadRequest, $"count {count}");
        Assert.Contains(count.ToString(System.Globalization.CultureInfo.InvariantCulture), detail, StringComparison.Ordinal);
        var (code, _, _) = await Node.NefAsAsync(fixture.AttackerMember, "--tenant", SecurityFixture.Attacker, "nspawn", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--", "/bin/sleep", "60");
        Assert.NotEqual(0, code);
        Assert.Equal(before, await PsAllAsync(SecurityFixture.Attacker));
    }

    [Fact]
    public async Task Hollow_nodes_are_not_served_unless_the_node_allows_them()
    {
        using var add = await Node.Http.PostAsJsonAsync("/v1/hollow-nodes", new { count = 3, cpuMillis = 64000, memoryBytes = 1L << 40 }).WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.NotFound, add.StatusCode);
        using var nodes = await Node.Http.GetAsync("/v1/nodes").WaitAsync(Bound);
        Assert.DoesNotContain("hollow-", await nodes.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quotas_refuse_what_would_exceed_them_and_name_the_quota()
    {
        var tenant = "quota-" + Guid.NewGuid().ToString("N")[..6];
        await Node.SdkAsync(tenant);
        using (var set = await Node.Http.PutAsJsonAsync($"/v1/tenants/{tenant}/quotas", new { processes = 2, cpuMillis = 300, memoryBytes = 64L << 20 }).WaitAsync(Bound))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var sdk = await Node.SdkAsync(tenant);
        var kept = await sdk.NSpawnAsync(2, new ProcessSpec { Path = "/bin/sleep", Args = ["60"], CpuMillis = 100 });
        try
        {
            var processes = await Assert.ThrowsAsync<NefeleException>(() => sdk.SpawnAsync(new ProcessSpec { Path = "/bin/true" }));
            Assert.Equal(ErrorCodes.QuotaExceeded, processes.Code);
            Assert.Contains("processes quota is 2", processes.Message, StringComparison.Ordinal);

            await Cleanup.KillAsync(sdk, kept[1]);
            var cpu = await Assert.ThrowsAsync<NefeleException>(() => sdk.SpawnAsync(new ProcessSpec { Path = "/bin/true", CpuMillis = 250 }));
            Assert.Equal(ErrorCodes.QuotaExceeded, cpu.Code);
            Assert.Contains("cpu quota is 300m", cpu.Message, StringComparison.Ordinal);

            var memory = await Assert.ThrowsAsync<NefeleException>(() => sdk.SpawnAsync(new ProcessSpec { Path = "/bin/true", MemoryBytes = 128L << 20 }));
            Assert.Contains("memory quota", memory.Message, StringComparison.Ordinal);

            using var rest = await Node.Http.PostAsJsonAsync($"/v1/tenants/{tenant}/spawn", new { count = 2, tasks = new[] { new { path = "/bin/true" } } }).WaitAsync(Bound);
            await AssertProblem(rest, HttpStatusCode.TooManyRequests, ErrorCodes.QuotaExceeded, "over REST");
            Assert.Single(await sdk.PsAsync());
        }
        finally
        {
            await Cleanup.KillAsync(sdk, kept);
        }

        // What ended gave its share back.
        var after = await sdk.SpawnAsync(new ProcessSpec { Path = "/bin/true", CpuMillis = 300 });
        await sdk.WaitAsync(after).WaitAsync(Bound);
    }

    [Fact]
    public async Task Spawn_rate_quota_refuses_a_burst_beyond_it()
    {
        var tenant = "rate-" + Guid.NewGuid().ToString("N")[..6];
        await Node.SdkAsync(tenant);
        using (var set = await Node.Http.PutAsJsonAsync($"/v1/tenants/{tenant}/quotas", new { spawnsPerSecond = 3 }).WaitAsync(Bound))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var sdk = await Node.SdkAsync(tenant);
        var e = await Assert.ThrowsAsync<NefeleException>(() => sdk.NSpawnAsync(4, new ProcessSpec { Path = "/bin/true" }));
        Assert.Equal(ErrorCodes.QuotaExceeded, e.Code);
        Assert.Contains("spawn rate quota is 3 per second", e.Message, StringComparison.Ordinal);
        Assert.Empty(await sdk.PsAsync(all: true));
    }

    private async Task<HttpResponseMessage> SendAs(string key, HttpMethod method, string url, object? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await Node.Anonymous.SendAsync(request).WaitAsync(Bound);
    }

    private static async Task<string> AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{what}: expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
        return problem.RootElement.GetProperty("detail").GetString() ?? string.Empty;
    }

    private static async Task AssertCode(string code, Func<Task> action)
    {
        var e = await Assert.ThrowsAsync<NefeleException>(() => action().WaitAsync(Bound));
        Assert.Equal(code, e.Code);
    }

    private async Task<IReadOnlyList<string>> VictimPsAllAsync() => await PsAllAsync(SecurityFixture.Victim);

    private async Task<IReadOnlyList<string>> PsAllAsync(string tenant) =>
        (await (await Node.SdkAsync(tenant)).PsAsync(all: true)).Select(p => p.Npid).ToArray();

    private async Task<IReadOnlyList<string>> ListTenantNamesAsync()
    {
        using var document = JsonDocument.Parse(await Node.Http.GetStringAsync("/v1/tenants").WaitAsync(Bound));
        return document.RootElement.GetProperty("tenants").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToArray();
    }
}
