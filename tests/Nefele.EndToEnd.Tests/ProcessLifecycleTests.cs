using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>How processes end, what they print, and how both are reported (SDK and REST).</summary>
public sealed class ProcessLifecycleTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    private static ProcessSpec Sh(string script) => new() { Path = "/bin/sh", Args = ["-c", script] };

    [Fact]
    public async Task Exit_code_is_reported_as_exited_3()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(Sh("echo hi; exit 3"));
        try
        {
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(ProcessState.Exited, end.State);
            Assert.Equal(3, end.ExitCode);
            Assert.Equal(0, end.Signal);
            Assert.Equal("exited 3", end.Describe());
            Assert.Equal(end, (await tenant.GetAsync(npid)).End);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Output_of_an_ended_process_is_kept()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(Sh("echo hi; exit 3"));
        try
        {
            await tenant.WaitAsync(npid).WaitAsync(Bound);

            var sdkLogs = await ReadAllAsync(tenant.LogsAsync(npid, follow: false));
            Assert.Contains("hi", sdkLogs);

            var rest = await Node.Http.GetStringAsync($"/v1/tenants/default/processes/{npid}/logs").WaitAsync(Bound);
            Assert.Contains("hi", rest);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Kill_with_SIGKILL_is_reported_as_killed_by_SIGKILL()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        try
        {
            var pid = (await tenant.GetAsync(npid)).Pid;
            await tenant.KillAsync(npid, Signals.SigKill);
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(ProcessState.Exited, end.State);
            Assert.Equal(Signals.SigKill, end.Signal);
            Assert.Equal("killed by SIGKILL", end.Describe());
            await Eventually.Until(() => !Interop.IsRunning(pid), Bound, $"pid {pid} gone");
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Segmentation_fault_is_reported_as_SIGSEGV()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(Sh("kill -SEGV $$"));
        try
        {
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(ProcessState.Exited, end.State);
            Assert.Equal(11, end.Signal);
            Assert.StartsWith("killed by SIGSEGV", end.Describe());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Monitor_of_exited_process_reports_exit_immediately()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(Sh("exit 7"));
        try
        {
            var first = await tenant.WaitAsync(npid).WaitAsync(Bound);

            // Asked again after the end: the same end, without waiting for anything new.
            var again = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(first, again);
            Assert.Equal(7, again.ExitCode);

            var events = new List<ProcessEvent>();
            await foreach (var e in tenant.MonitorAsync(npid).WithCancellation(new CancellationTokenSource(Bound).Token))
            {
                events.Add(e);
            }

            Assert.Equal(ProcessState.Exited, events[^1].State);
            Assert.Equal(events.Select(e => e.Seq), Enumerable.Range(1, events.Count).Select(i => (long)i));

            var sse = await Sse.ReadAllAsync(Node.Http, $"/v1/tenants/default/processes/{npid}/events", Bound);
            Assert.NotEmpty(sse);
            Assert.All(sse, e => Assert.Equal("state", e.Event));
            using var last = JsonDocument.Parse(sse[^1].Data);
            Assert.Equal("Exited", last.RootElement.GetProperty("state").GetString());
            Assert.Equal(7, last.RootElement.GetProperty("end").GetProperty("exitCode").GetInt32());
            Assert.Equal("exited 7", last.RootElement.GetProperty("end").GetProperty("description").GetString());

            // Resuming after the last event seen still ends with the terminal one.
            var resumed = await Sse.ReadAllAsync(Node.Http, $"/v1/tenants/default/processes/{npid}/events?after={events.Count - 1}", Bound);
            Assert.Single(resumed);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Process_over_its_memory_limit_is_OOM_killed()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/usr/bin/python3",
            Args = ["-c", "a = bytearray(300 * 1024 * 1024)"],
            MemoryBytes = 32L * 1024 * 1024,
        });
        try
        {
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(ProcessState.Exited, end.State);
            Assert.True(end.OomKilled, $"not OOM-killed: {end.Describe()}");
            Assert.Equal(Signals.SigKill, end.Signal);
            Assert.Contains("out of memory", end.Describe());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Followed_output_arrives_as_written_and_ends_with_the_process()
    {
        var tenant = await Node.SdkAsync();
        var dir = TestDirectory.Create("nefele-e2e-follow");
        var flag = Path.Combine(dir, "go");
        var npid = await tenant.SpawnAsync(Sh($"echo one; while [ ! -e {flag} ]; do sleep 0.05; done; echo two"));
        try
        {
            using var cts = new CancellationTokenSource(Bound);
            var text = new StringBuilder();
            var sawOne = false;
            await foreach (var chunk in tenant.LogsAsync(npid, follow: true, ct: cts.Token))
            {
                text.Append(Encoding.UTF8.GetString(chunk));
                if (!sawOne && text.ToString().Contains("one\n"))
                {
                    sawOne = true;
                    Assert.DoesNotContain("two", text.ToString());
                    await File.WriteAllTextAsync(flag, string.Empty);
                }
            }

            // The enumeration ended by itself: the process has ended and everything was read.
            Assert.True(sawOne);
            Assert.Equal("one\ntwo\n", text.ToString());
            var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal("exited 0", end.Describe());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Followed_output_over_REST_is_server_sent_events_ending_with_end()
    {
        var tenant = await Node.SdkAsync();
        var dir = TestDirectory.Create("nefele-e2e-follow");
        var flag = Path.Combine(dir, "go");
        var npid = await tenant.SpawnAsync(Sh($"echo one; while [ ! -e {flag} ]; do sleep 0.05; done; echo two"));
        try
        {
            using var cts = new CancellationTokenSource(Bound);
            using var response = await Node.Http.GetAsync($"/v1/tenants/default/processes/{npid}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead, cts.Token);
            response.EnsureSuccessStatusCode();
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var output = new StringBuilder();
            var events = new List<string>();
            await foreach (var (name, data) in Sse.ReadAsync(response, cts.Token))
            {
                events.Add(name);
                if (name == "output")
                {
                    output.Append(data);
                    if (output.ToString().Contains("one") && !File.Exists(flag))
                    {
                        Assert.DoesNotContain("two", output.ToString());
                        await File.WriteAllTextAsync(flag, string.Empty);
                    }
                }
            }

            Assert.Equal("end", events[^1]);
            Assert.Contains("one", output.ToString());
            Assert.Contains("two", output.ToString());
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Nspawn_of_ten_gives_ten_distinct_running_processes()
    {
        var tenant = await Node.SdkAsync();
        var npids = await tenant.NSpawnAsync(10, new ProcessSpec { Path = "/bin/sleep", Args = ["300"] });
        try
        {
            Assert.Equal(10, npids.Count);
            Assert.Equal(10, npids.Distinct().Count());
            var infos = await Task.WhenAll(npids.Select(n => tenant.GetAsync(n)));
            Assert.All(infos, i => Assert.Equal(ProcessState.Running, i.State));
            Assert.Equal(10, infos.Select(i => i.Pid).Distinct().Count());
            Assert.All(infos, i => Assert.True(Interop.IsRunning(i.Pid)));

            var ps = (await tenant.PsAsync()).Select(i => i.Npid).ToHashSet();
            Assert.Superset(npids.ToHashSet(), ps);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    internal static async Task<string> ReadAllAsync(IAsyncEnumerable<byte[]> chunks)
    {
        using var cts = new CancellationTokenSource(Bound);
        var bytes = new List<byte>();
        await foreach (var chunk in chunks.WithCancellation(cts.Token))
        {
            bytes.AddRange(chunk);
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
