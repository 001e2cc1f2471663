using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Nefele.Client;
using Xunit.Abstractions;

namespace Nefele.Tracing.Tests;

/// <summary>
/// A spawn is one trace, from the SDK call or the REST request through the silo's grains to hostd's
/// launch and the shim's handshake, as a real OTLP receiver decodes it; and the process continues
/// it (TRACEPARENT). Kills and exits are traced too.
/// </summary>
[Collection(OtlpCollection.Name)]
public sealed partial class SpawnTraceTests(TracingFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // A shell prints the context it was given, then waits to be killed (the shim makes the handshake).
    private static readonly ProcessSpec PrintsTraceparent = new()
    {
        Path = "/bin/sh",
        Args = ["-c", "echo \"TRACEPARENT=$TRACEPARENT\"; exec sleep 600"],
    };

    // What every spawn's trace holds, whichever door it came in by (SDK, REST).
    private static readonly string[] SpawnSpans =
        ["nefele.spawn.submit", "nefele.spawn", "nefele.node.launch", "nefele.hostd.launch", "nefele.hostd.start", "nefele.hostd.handshake"];

    private OtlpReceiver Receiver => fixture.Receiver;

    [Fact]
    public async Task Sdk_spawn_is_one_trace_from_the_call_to_the_handshake_and_the_process_continues_it()
    {
        var tenant = await fixture.Node.SdkAsync();
        var npid = await tenant.SpawnAsync(PrintsTraceparent).WaitAsync(Bound);
        try
        {
            var submit = await Eventually.Value(
                () => Task.FromResult(Receiver.Spans().FirstOrDefault(s => s.Name == "nefele.spawn.submit" && s.Attribute("nefele.npid") == npid)),
                Bound, "the SDK's span of the spawn at the receiver");
            Assert.Equal(TracingFixture.TestService, submit.Service);
            Assert.Equal(string.Empty, submit.ParentSpanId);

            var trace = await Receiver.WaitForTraceAsync(submit.TraceId, t => Complete(t, SpawnSpans, root: submit.SpanId), Bound, "the spawn's whole trace");
            Report("SDK spawn", trace);
            AssertSpawnTrace(trace, npid, await tenant.GetAsync(npid));

            var (traceId, parentId) = await TraceparentOfAsync(tenant, npid);
            Assert.Equal(submit.TraceId, traceId);
            Assert.Equal(Single(trace, "nefele.hostd.launch").SpanId, parentId);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Rest_spawn_continues_the_callers_traceparent_down_to_the_process()
    {
        var tenant = await fixture.Node.SdkAsync();
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var callerSpan = ActivitySpanId.CreateRandom().ToHexString();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/tenants/default/spawn")
        {
            Content = JsonContent.Create(new { tasks = new[] { new { path = PrintsTraceparent.Path, args = PrintsTraceparent.Args } } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using var response = await fixture.Node.Http.SendAsync(request).WaitAsync(Bound);
        response.EnsureSuccessStatusCode();
        var npid = Assert.Single((await response.Content.ReadFromJsonAsync<SpawnResult>())!.Npids);
        try
        {
            var trace = await Receiver.WaitForTraceAsync(traceId, t => Complete(t, SpawnSpans, root: callerSpan), Bound, "the REST spawn's trace");
            Report("REST spawn", trace);

            // The silo's request span is the caller's child: the trace is the caller's.
            var server = Assert.Single(trace, s => s.ParentSpanId == callerSpan);
            Assert.Equal(Single(trace, "nefele.spawn").Service, server.Service);
            AssertSpawnTrace(trace, npid, await tenant.GetAsync(npid));

            var (processTrace, parentId) = await TraceparentOfAsync(tenant, npid);
            Assert.Equal(traceId, processTrace);
            Assert.Equal(Single(trace, "nefele.hostd.launch").SpanId, parentId);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task A_kill_is_traced_to_hostds_signal_and_the_exit_to_the_silos_notification_linked_to_the_spawn()
    {
        var tenant = await fixture.Node.SdkAsync();
        var npid = await tenant.SpawnAsync(PrintsTraceparent).WaitAsync(Bound);
        var spawn = await Eventually.Value(
            () => Task.FromResult(Receiver.Spans().FirstOrDefault(s => s.Name == "nefele.hostd.launch" && s.Attribute("nefele.npid") == npid)),
            Bound, "hostd's launch span");

        await tenant.KillAsync(npid, Signals.SigTerm).WaitAsync(Bound);
        var kill = Assert.Single(Receiver.Spans(), s => s.Name == "nefele.kill" && s.Attribute("nefele.npid") == npid);
        var killTrace = await Receiver.WaitForTraceAsync(kill.TraceId, t => Complete(t, ["nefele.kill", "nefele.node.signal", "nefele.hostd.signal"], root: kill.SpanId), Bound, "the kill's trace");
        Assert.Equal("15", Single(killTrace, "nefele.hostd.signal").Attribute("nefele.signal"));
        await tenant.WaitAsync(npid).WaitAsync(Bound);

        // The exit is a trace of its own (a process may outlive its spawn's trace by days), linked to the spawn's.
        var exit = await Eventually.Value(
            () => Task.FromResult(Receiver.Spans().FirstOrDefault(s => s.Name == "nefele.hostd.exit" && s.Attribute("nefele.npid") == npid)),
            Bound, "hostd's exit span");
        Assert.NotEqual(spawn.TraceId, exit.TraceId);
        Assert.Contains(exit.Links, l => l.TraceId == spawn.TraceId && l.SpanId == spawn.SpanId);
        var exitTrace = await Receiver.WaitForTraceAsync(exit.TraceId, t => Complete(t, ["nefele.hostd.exit", "nefele.process.exit"], root: exit.SpanId), Bound, "the exit's trace");
        Assert.NotEqual(exit.Service, Single(exitTrace, "nefele.process.exit").Service);
    }

    [Fact]
    public async Task A_process_that_spawns_from_inside_continues_its_own_spawns_trace()
    {
        var tenant = await fixture.Node.SdkAsync();
        var home = Nefele.EndToEnd.Tests.TestDirectory.Create("nefele-trace-probe-");
        var probe = Path.Combine(RepoPaths.Root, "tests", "Nefele.ProcessProbe", "bin", RepoPaths.Configuration, "net10.0", "nefele-process-probe.dll");
        Assert.True(File.Exists(probe), $"{probe} is missing: build the solution");
        var parent = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "dotnet",
            Args = [probe, "spawn", "/bin/sleep", "600"],
            Env = new Dictionary<string, string> { ["HOME"] = home, ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
        }).WaitAsync(Bound);
        string? child = null;
        try
        {
            child = await Eventually.Value(async () =>
            {
                var text = System.Text.Encoding.UTF8.GetString((await tenant.ReadLogsAsync(parent)).Data);
                var m = Regex.Match(text, "spawned (\\S+)");
                return m.Success ? m.Groups[1].Value : null;
            }, Bound, "the probe's child");
            var parentLaunch = await Eventually.Value(
                () => Task.FromResult(Receiver.Spans().FirstOrDefault(s => s.Name == "nefele.hostd.launch" && s.Attribute("nefele.npid") == parent)),
                Bound, "hostd's launch span of the probe");

            // The child's spawn hangs under the probe's launch span (its TRACEPARENT), in the probe's trace.
            var trace = await Receiver.WaitForTraceAsync(
                parentLaunch.TraceId,
                t => t.Any(s => s.Name == "nefele.hostd.launch" && s.Attribute("nefele.npid") == child) && Complete(t, ["nefele.process_api.spawn"], root: t.First(s => s.ParentSpanId == string.Empty).SpanId),
                Bound, "the child's spawn in the probe's trace");
            var api = Single(trace, "nefele.process_api.spawn");
            Assert.Equal(parentLaunch.SpanId, api.ParentSpanId);
            Assert.Equal(parent, api.Attribute("nefele.npid"));
            Report("spawn from inside a process", trace);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, child is null ? [parent] : [parent, child]);
            Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>Every named span is there and every span hangs from <paramref name="root"/>: nothing is missing in between.</summary>
    private static bool Complete(IReadOnlyList<ReceivedSpan> trace, IEnumerable<string> names, string root)
    {
        if (!names.All(n => trace.Any(s => s.Name == n)))
        {
            return false;
        }

        var ids = trace.Select(s => s.SpanId).ToHashSet();
        return trace.All(s => s.SpanId == root || s.ParentSpanId == root || ids.Contains(s.ParentSpanId));
    }

    private static void AssertSpawnTrace(IReadOnlyList<ReceivedSpan> trace, string npid, ProcessInfo process)
    {
        var silo = Single(trace, "nefele.spawn");
        var hostd = Single(trace, "nefele.hostd.launch");
        Assert.Equal("Nefele.Grains", silo.Scope);
        Assert.Equal("Nefele.HostAgent", hostd.Scope);
        Assert.NotEqual(silo.Service, hostd.Service);
        Assert.Equal(npid, silo.Attribute("nefele.npid"));
        Assert.Equal(npid, hostd.Attribute("nefele.npid"));
        Assert.Equal(process.Node, hostd.Attribute("nefele.node"));
        Assert.Equal(process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), hostd.Attribute("process.pid"));
        Assert.NotNull(hostd.Attribute("nefele.engine"));

        // The grains' calls are spans of Orleans' own (activity propagation), between the silo's spans.
        Assert.Contains(trace, s => s.Scope == "Microsoft.Orleans.Application");

        // hostd's launch hangs under the node grain's launch; the handshake under hostd's launch; no span failed.
        Assert.Equal(Single(trace, "nefele.node.launch").SpanId, hostd.ParentSpanId);
        Assert.Equal(hostd.SpanId, Single(trace, "nefele.hostd.handshake").ParentSpanId);
        Assert.DoesNotContain(trace, s => s.Status == 2);
    }

    private static ReceivedSpan Single(IReadOnlyList<ReceivedSpan> trace, string name) => Assert.Single(trace, s => s.Name == name);

    /// <summary>The trace id and parent span id of the TRACEPARENT the process printed.</summary>
    private static async Task<(string TraceId, string ParentId)> TraceparentOfAsync(NefeleTenant tenant, string npid)
    {
        var text = string.Empty;
        await Eventually.Until(async () =>
        {
            var chunk = await tenant.ReadLogsAsync(npid);
            text = System.Text.Encoding.UTF8.GetString(chunk.Data);
            return text.Contains('\n');
        }, Bound, "the process's first line");
        var m = TraceparentLine().Match(text);
        Assert.True(m.Success, $"the process printed no W3C traceparent: {text}");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    /// <summary>The spans and their durations, as the README's observability section reports them.</summary>
    private void Report(string what, IReadOnlyList<ReceivedSpan> trace)
    {
        output.WriteLine($"{what}: {trace.Count} spans");
        foreach (var s in trace.OrderBy(s => ulong.Parse(s.StartUnixNano)))
        {
            output.WriteLine($"  {s.Service,-22} {s.Name,-50} {s.Duration.TotalMilliseconds,8:0.000} ms");
        }
    }

    [GeneratedRegex("TRACEPARENT=00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]")]
    private static partial Regex TraceparentLine();
}
