using System.Net;
using System.Net.Http.Json;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// Supervisors on a real node with real processes: each strategy and restart type, the restart
/// intensity, ordered start and reverse stop with the shutdown timeout, a pool resized, nested and
/// program-local supervisors, and the REST routes. Children are killed for real and the tests wait
/// on the supervisor's own status changes, never on a fixed delay.
/// </summary>
public sealed class SupervisorTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static readonly string[] Abc = ["a", "b", "c"];

    private NodeUnderTest Node => fixture.Node;

    private static ProcessSpec Sh(string script) => new() { Path = "/bin/sh", Args = ["-c", script] };

    private static ChildSpec Worker(string id, RestartType restart = RestartType.Permanent, string? shutdown = null) =>
        new() { Id = id, Restart = restart, Shutdown = shutdown, Process = Sh("exec sleep 300") };

    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..24];

    private static string Npid(SupervisorStatus s, string id) => s.Children.Single(c => c.Id == id).Npid!;

    /// <summary>Starts the supervisor, runs the test, and deletes it (stopping what it still runs).</summary>
    private async Task WithSupervisorAsync(SupervisorSpec spec, Func<NefeleTenant, string, SupervisorStatus, Task> test)
    {
        var tenant = await Node.SdkAsync();
        var name = NewName("sup");
        var status = await tenant.Supervisors.StartAsync(name, spec).WaitAsync(Bound);
        try
        {
            await test(tenant, name, status);
        }
        finally
        {
            await tenant.Supervisors.StopAsync(name).WaitAsync(Bound);
        }
    }

    private static async Task<SupervisorStatus> WaitForAsync(NefeleTenant tenant, string name, Func<SupervisorStatus, bool> condition)
    {
        using var cts = new CancellationTokenSource(Bound);
        return await tenant.Supervisors.WaitForAsync(name, condition, cts.Token);
    }

    private static bool AllRunning(SupervisorStatus s) => s.Children.All(c => c.Phase == ChildPhase.Running);

    [Fact]
    public async Task One_for_one_restarts_only_the_killed_child()
    {
        var spec = new SupervisorSpec { Strategy = SupervisorStrategy.OneForOne, Children = [Worker("a"), Worker("b"), Worker("c")] };
        await WithSupervisorAsync(spec, async (tenant, name, first) =>
        {
            Assert.Equal(SupervisorPhase.Running, first.Phase);
            await tenant.KillAsync(Npid(first, "b"), Signals.SigKill);

            var after = await WaitForAsync(tenant, name, s => s.Restarts == 1 && AllRunning(s));
            Assert.NotEqual(Npid(first, "b"), Npid(after, "b"));
            Assert.Equal(Npid(first, "a"), Npid(after, "a"));
            Assert.Equal(Npid(first, "c"), Npid(after, "c"));
            Assert.Equal("killed by SIGKILL", after.Children.Single(c => c.Id == "b").LastEnd);
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(Npid(after, "b"))).State);
        });
    }

    [Fact]
    public async Task One_for_all_restarts_every_child_when_one_is_killed()
    {
        var spec = new SupervisorSpec { Strategy = SupervisorStrategy.OneForAll, Children = [Worker("a"), Worker("b"), Worker("c")] };
        await WithSupervisorAsync(spec, async (tenant, name, first) =>
        {
            await tenant.KillAsync(Npid(first, "b"), Signals.SigKill);

            var after = await WaitForAsync(tenant, name, s => s.Restarts >= 3 && AllRunning(s));
            foreach (var id in Abc)
            {
                Assert.NotEqual(Npid(first, id), Npid(after, id));
                Assert.True((await tenant.WaitAsync(Npid(first, id)).WaitAsync(Bound)).State == ProcessState.Exited);
            }
        });
    }

    [Fact]
    public async Task Rest_for_one_restarts_the_killed_child_and_those_after_it()
    {
        var spec = new SupervisorSpec { Strategy = SupervisorStrategy.RestForOne, Children = [Worker("a"), Worker("b"), Worker("c")] };
        await WithSupervisorAsync(spec, async (tenant, name, first) =>
        {
            await tenant.KillAsync(Npid(first, "b"), Signals.SigKill);

            var after = await WaitForAsync(tenant, name, s => s.Restarts >= 2 && AllRunning(s));
            Assert.Equal(Npid(first, "a"), Npid(after, "a"));
            Assert.NotEqual(Npid(first, "b"), Npid(after, "b"));
            Assert.NotEqual(Npid(first, "c"), Npid(after, "c"));
        });
    }

    [Fact]
    public async Task Restart_types_follow_otp_permanent_always_transient_after_abnormal_ends_temporary_never()
    {
        var dir = TestDirectory.Create("nefele-sup-");

        // Each runs once as given, then (the marker exists) sleeps: a restart is seen as a new NPID that stays.
        ChildSpec Once(string id, RestartType restart, string firstRun) => new()
        {
            Id = id,
            Restart = restart,
            Process = Sh($"if [ -e {dir}/{id} ]; then exec sleep 300; fi; touch {dir}/{id}; {firstRun}"),
        };

        var spec = new SupervisorSpec
        {
            MaxRestarts = 10,
            PeriodSeconds = 60,
            Children =
            [
                Once("perm-normal", RestartType.Permanent, "exit 0"),
                Once("trans-normal", RestartType.Transient, "exit 0"),
                Once("trans-crash", RestartType.Transient, "exit 3"),
                Once("trans-term", RestartType.Transient, "kill -TERM $$"),
                Once("temp-crash", RestartType.Temporary, "exit 3"),
            ],
        };
        try
        {
            await WithSupervisorAsync(spec, async (tenant, name, _) =>
            {
                ChildStatus C(SupervisorStatus s, string id) => s.Children.Single(c => c.Id == id);
                var after = await WaitForAsync(tenant, name, s =>
                    s.Children.All(c => c.Phase is ChildPhase.Running or ChildPhase.Ended && c.LastEnd is not null));

                Assert.Equal((ChildPhase.Running, 1), (C(after, "perm-normal").Phase, C(after, "perm-normal").Restarts));
                Assert.Equal((ChildPhase.Ended, 0), (C(after, "trans-normal").Phase, C(after, "trans-normal").Restarts));
                Assert.Equal((ChildPhase.Running, 1), (C(after, "trans-crash").Phase, C(after, "trans-crash").Restarts));
                Assert.Equal((ChildPhase.Ended, 0), (C(after, "trans-term").Phase, C(after, "trans-term").Restarts));
                Assert.Equal("killed by SIGTERM", C(after, "trans-term").LastEnd);
                Assert.Equal((ChildPhase.Ended, 0), (C(after, "temp-crash").Phase, C(after, "temp-crash").Restarts));
                Assert.Equal("exited 3", C(after, "temp-crash").LastEnd);
                Assert.Equal(SupervisorPhase.Running, after.Phase);
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Past_its_intensity_the_supervisor_stops_its_children_and_ends_saying_why()
    {
        var tenant = await Node.SdkAsync();
        var name = NewName("intensity");
        var spec = new SupervisorSpec { MaxRestarts = 1, PeriodSeconds = 60, Children = [Worker("a"), Worker("b")] };
        var first = await tenant.Supervisors.StartAsync(name, spec).WaitAsync(Bound);
        try
        {
            await tenant.KillAsync(Npid(first, "b"), Signals.SigKill);
            var restarted = await WaitForAsync(tenant, name, s => s.Restarts == 1 && AllRunning(s));
            await tenant.KillAsync(Npid(restarted, "b"), Signals.SigKill);

            var ended = await WaitForAsync(tenant, name, s => s.Phase == SupervisorPhase.Ended);
            Assert.Contains("restart intensity", ended.EndReason, StringComparison.Ordinal);
            Assert.Contains("child b killed by SIGKILL", ended.EndReason, StringComparison.Ordinal);
            Assert.All(ended.Children, c => Assert.Null(c.Npid));
            var aEnd = await tenant.WaitAsync(Npid(first, "a")).WaitAsync(Bound);
            Assert.Equal(Signals.SigTerm, aEnd.Signal);
        }
        finally
        {
            await tenant.Supervisors.StopAsync(name).WaitAsync(Bound);
        }
    }

    [Fact]
    public async Task Children_start_in_order_and_stop_in_reverse_order_and_one_ignoring_sigterm_is_killed_after_its_timeout()
    {
        var dir = TestDirectory.Create("nefele-sup-");
        var log = Path.Combine(dir, "stops");
        ChildSpec Polite(string id) => new() { Id = id, Process = Sh($"trap 'echo {id} >> {log}; exit 0' TERM; while :; do sleep 0.05; done") };
        var spec = new SupervisorSpec
        {
            Children =
            [
                Polite("a"),
                new ChildSpec { Id = "stubborn", Shutdown = "300ms", Process = Sh($"trap 'echo stubborn >> {log}' TERM; while :; do sleep 0.05; done") },
                Polite("c"),
            ],
        };
        try
        {
            var tenant = await Node.SdkAsync();
            var name = NewName("order");
            var status = await tenant.Supervisors.StartAsync(name, spec).WaitAsync(Bound);
            var infos = new List<ProcessInfo>();
            foreach (var c in status.Children)
            {
                infos.Add(await tenant.GetAsync(c.Npid!));
            }

            // Each started once the one before it ran.
            Assert.True(infos[0].StartedAt <= infos[1].StartedAt && infos[1].StartedAt <= infos[2].StartedAt);

            Assert.True(await tenant.Supervisors.StopAsync(name).WaitAsync(Bound));

            Assert.Equal(["c", "stubborn", "a"], (await File.ReadAllLinesAsync(log)).Select(l => l.Trim()));
            var stubborn = await tenant.WaitAsync(infos[1].Npid).WaitAsync(Bound);
            Assert.Equal(Signals.SigKill, stubborn.Signal);
            Assert.Equal(0, (await tenant.WaitAsync(infos[0].Npid).WaitAsync(Bound)).ExitCode);
            var e = await Assert.ThrowsAsync<NefeleException>(() => tenant.Supervisors.GetAsync(name));
            Assert.Equal(ErrorCodes.SupervisorNotFound, e.Code);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_pool_grows_and_shrinks_newest_first_and_restarts_its_children()
    {
        var spec = new SupervisorSpec { Strategy = SupervisorStrategy.SimpleOneForOne, PoolSize = 2, MaxRestarts = 5, Children = [Worker("w", shutdown: "brutal_kill")] };
        await WithSupervisorAsync(spec, async (tenant, name, first) =>
        {
            Assert.Equal(["w-1", "w-2"], first.Children.Select(c => c.Id));

            var grown = await tenant.Supervisors.ResizeAsync(name, 4).WaitAsync(Bound);
            Assert.Equal(["w-1", "w-2", "w-3", "w-4"], grown.Children.Select(c => c.Id));
            Assert.Equal(4, grown.Children.Select(c => c.Npid).Distinct().Count());
            Assert.True(AllRunning(grown));

            var shrunk = await tenant.Supervisors.ResizeAsync(name, 1).WaitAsync(Bound);
            Assert.Equal(["w-1"], shrunk.Children.Select(c => c.Id));
            foreach (var gone in grown.Children.Skip(1))
            {
                Assert.Equal(Signals.SigKill, (await tenant.WaitAsync(gone.Npid!).WaitAsync(Bound)).Signal);
            }

            await tenant.KillAsync(Npid(shrunk, "w-1"), Signals.SigKill);
            var restarted = await WaitForAsync(tenant, name, s => s.Restarts == 1 && AllRunning(s));
            Assert.NotEqual(Npid(shrunk, "w-1"), Npid(restarted, "w-1"));

            var e = await Assert.ThrowsAsync<NefeleException>(() => tenant.Supervisors.ResizeAsync(name, -1));
            Assert.Equal(ErrorCodes.BadRequest, e.Code);
        });
    }

    [Fact]
    public async Task A_nested_supervisor_restarts_its_own_child_and_its_parent_sees_no_restart()
    {
        var spec = new SupervisorSpec
        {
            Children =
            [
                Worker("front"),
                new ChildSpec { Id = "inner", Supervisor = new SupervisorSpec { Children = [Worker("worker")] } },
            ],
        };
        await WithSupervisorAsync(spec, async (tenant, name, first) =>
        {
            var inner = first.Children.Single(c => c.Id == "inner").Npid!;
            Assert.Equal($"{name}.inner", inner);
            var innerFirst = await tenant.Supervisors.GetAsync(inner);
            await tenant.KillAsync(Npid(innerFirst, "worker"), Signals.SigKill);

            var innerAfter = await WaitForAsync(tenant, inner, s => s.Restarts == 1 && AllRunning(s));
            Assert.NotEqual(Npid(innerFirst, "worker"), Npid(innerAfter, "worker"));
            Assert.Equal(0, (await tenant.Supervisors.GetAsync(name)).Restarts);
        });
    }

    [Fact]
    public async Task A_child_that_cannot_start_stops_the_start_and_leaves_nothing_running()
    {
        var tenant = await Node.SdkAsync();
        var name = NewName("nostart");
        var before = (await tenant.PsAsync()).Count;
        var spec = new SupervisorSpec { Children = [Worker("a"), new ChildSpec { Id = "b", Process = new ProcessSpec { Path = "/nonexistent/program" } }, Worker("c")] };

        var e = await Assert.ThrowsAsync<NefeleException>(() => tenant.Supervisors.StartAsync(name, spec).WaitAsync(Bound));

        Assert.Equal(ErrorCodes.FailedToStart, e.Code);
        Assert.Contains("child b failed to start", e.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.SupervisorNotFound, (await Assert.ThrowsAsync<NefeleException>(() => tenant.Supervisors.GetAsync(name))).Code);
        Assert.DoesNotContain(name, await tenant.Supervisors.ListAsync());
        Assert.True((await tenant.PsAsync()).Count <= before);
    }

    [Fact]
    public async Task A_program_local_supervisor_restarts_its_children_and_stops_them_when_disposed()
    {
        var tenant = await Node.SdkAsync();
        var local = await tenant.Supervisors.StartLocalAsync("local", new SupervisorSpec { Strategy = SupervisorStrategy.OneForAll, Children = [Worker("a"), Worker("b")] }).WaitAsync(Bound);
        SupervisorStatus first;
        SupervisorStatus after;
        await using (local)
        {
            first = local.Status();
            await tenant.KillAsync(Npid(first, "a"), Signals.SigKill);
            using var cts = new CancellationTokenSource(Bound);
            after = await local.WaitForAsync(s => s.Restarts == 2 && AllRunning(s), cts.Token);
            Assert.NotEqual(Npid(first, "b"), Npid(after, "b"));
        }

        Assert.Equal("stopped", await local.Completion.WaitAsync(Bound));
        foreach (var c in after.Children)
        {
            Assert.Equal(ProcessState.Exited, (await tenant.WaitAsync(c.Npid!).WaitAsync(Bound)).State);
        }
    }

    [Fact]
    public async Task Rest_routes_create_get_resize_and_delete_with_problem_details()
    {
        var name = NewName("rest");
        var url = $"/v1/tenants/default/supervisors/{name}";
        await Node.SdkAsync();
        var body = new
        {
            strategy = "simple_one_for_one",
            poolSize = 1,
            children = new[] { new { id = "w", restart = "transient", shutdown = "brutal_kill", process = new { path = "/bin/sleep", args = new[] { "300" } } } },
        };
        var created = await Node.Http.PutAsJsonAsync(url, body).WaitAsync(Bound);
        try
        {
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            var json = await created.Content.ReadAsStringAsync();
            Assert.Contains("\"strategy\":\"simple_one_for_one\"", json, StringComparison.Ordinal);
            Assert.Contains("\"phase\":\"running\"", json, StringComparison.Ordinal);

            Assert.Equal(HttpStatusCode.OK, (await Node.Http.PutAsJsonAsync(url, body)).StatusCode);
            var other = await Node.Http.PutAsJsonAsync(url, new { strategy = "one_for_one", children = Array.Empty<object>() });
            Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
            Assert.Contains("supervisor_exists", await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            var resized = await Node.Http.PostAsJsonAsync($"{url}/resize", new { size = 3 });
            Assert.Equal(HttpStatusCode.OK, resized.StatusCode);
            var status = (await Node.Http.GetFromJsonAsync<System.Text.Json.JsonElement>(url));
            Assert.Equal(3, status.GetProperty("children").GetArrayLength());

            var list = await Node.Http.GetStringAsync("/v1/tenants/default/supervisors");
            Assert.Contains(name, list, StringComparison.Ordinal);

            var bad = await Node.Http.PutAsJsonAsync($"/v1/tenants/default/supervisors/{NewName("bad")}", new { strategy = "one_for_none" });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var badChild = await Node.Http.PutAsJsonAsync($"/v1/tenants/default/supervisors/{NewName("bad")}",
                new { children = new[] { new { id = "x", shutdown = "soon", process = new { path = "/bin/true" } } } });
            Assert.Equal(HttpStatusCode.BadRequest, badChild.StatusCode);
            Assert.Contains("shutdown 'soon' is invalid", await badChild.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        finally
        {
            Assert.Equal(HttpStatusCode.NoContent, (await Node.Http.DeleteAsync(url)).StatusCode);
        }

        var missing = await Node.Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("supervisor_not_found", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await Node.Http.DeleteAsync(url)).StatusCode);
    }

    [Fact]
    public async Task Another_tenants_key_cannot_see_or_stop_a_supervisor()
    {
        var spec = new SupervisorSpec { Children = [Worker("a")] };
        await WithSupervisorAsync(spec, async (tenant, name, first) =>
        {
            var key = await Node.CreateKeyAsync("sup-other", NewName("k"));
            await using var other = await Node.ConnectAsync(key);
            var otherTenant = other.Tenant("sup-other");
            Assert.Equal(ErrorCodes.SupervisorNotFound, (await Assert.ThrowsAsync<NefeleException>(() => otherTenant.Supervisors.GetAsync(name))).Code);
            Assert.Empty(await otherTenant.Supervisors.ListAsync());

            var crossing = await Assert.ThrowsAsync<NefeleException>(() => other.Tenant("default").Supervisors.StopAsync(name));
            Assert.Equal(ErrorCodes.Forbidden, crossing.Code);
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(Npid(first, "a"))).State);
        });
    }
}
