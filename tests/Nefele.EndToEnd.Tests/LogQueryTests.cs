using System.Net;
using System.Text;
using System.Text.Json;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>The tenant's logs over many processes, filtered and followed, through the SDK, REST and nef.</summary>
public sealed class LogQueryTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    private static ProcessSpec Sh(string name, string script) => new() { Path = "/bin/sh", Args = ["-c", script], Name = name };

    private static string UniqueName(string what) => what + "-" + Guid.NewGuid().ToString("N")[..8];

    private static async Task<List<LogEntry>> AllAsync(IAsyncEnumerable<LogEntry> records)
    {
        var list = new List<LogEntry>();
        using var bound = new CancellationTokenSource(Bound);
        await foreach (var r in records.WithCancellation(bound.Token))
        {
            list.Add(r);
        }

        return list;
    }

    private static string Text(IEnumerable<LogEntry> records, string npid, LogStream stream) =>
        string.Concat(records.Where(r => r.Npid == npid && r.Stream == stream).Select(r => r.Text));

    /// <summary>Three processes that have ended: two named <paramref name="name"/> (one also writes stderr), one named otherwise.</summary>
    private static async Task<string[]> EndedAsync(NefeleTenant tenant, string name)
    {
        var npids = new[]
        {
            await tenant.SpawnAsync(Sh(name, "echo a1; echo a-err >&2; echo a2")),
            await tenant.SpawnAsync(Sh(name, "echo b1")),
            await tenant.SpawnAsync(Sh(name + "-other", "echo c1")),
        };
        foreach (var npid in npids)
        {
            await tenant.WaitAsync(npid).WaitAsync(Bound);
        }

        return npids;
    }

    [Fact]
    public async Task Sdk_reads_the_records_of_processes_by_name_merged_in_time_order_with_stream_and_time_filters()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logq");
        var npids = await EndedAsync(tenant, name);
        try
        {
            var all = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name }));
            Assert.Equal(["a1\na2\n", "a-err\n", "b1\n"], [Text(all, npids[0], LogStream.Stdout), Text(all, npids[0], LogStream.Stderr), Text(all, npids[1], LogStream.Stdout)]);
            Assert.DoesNotContain(all, r => r.Npid == npids[2]);
            Assert.All(all, r => Assert.Equal((name, Node.Name), (r.Name, r.Node)));
            Assert.True(all.Zip(all.Skip(1)).All(p => p.First.TimeUnixNano <= p.Second.TimeUnixNano), "records are merged in time order");
            Assert.All(all, r => Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks(r.TimeUnixNano / 100), r.Time));

            var errors = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name, Stream = LogStream.Stderr }));
            Assert.Equal("a-err\n", string.Concat(errors.Select(r => r.Text)));
            Assert.All(errors, r => Assert.Equal(LogStream.Stderr, r.Stream));

            // since is inclusive and until exclusive, at the 100 ns a DateTimeOffset holds.
            var pivot = all.Single(r => r.Npid == npids[1]).Time;
            var pivotNanos = (pivot.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
            var since = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name, Since = pivot }));
            var until = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name, Until = pivot }));
            Assert.Equal(all.Where(r => r.TimeUnixNano >= pivotNanos).Select(r => (r.Npid, r.Offset)), since.Select(r => (r.Npid, r.Offset)));
            Assert.Equal(all.Where(r => r.TimeUnixNano < pivotNanos).Select(r => (r.Npid, r.Offset)), until.Select(r => (r.Npid, r.Offset)));
            Assert.Contains(since, r => r.Npid == npids[1]);

            var byNpid = await AllAsync(tenant.LogsAsync(new LogQuery { Npids = [npids[2]] }));
            Assert.Equal("c1\n", string.Concat(byNpid.Select(r => r.Text)));
            var byNode = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name, Node = Node.Name + "-elsewhere" }));
            Assert.Empty(byNode);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task Another_tenant_never_reads_these_records()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logt");
        var npids = await EndedAsync(tenant, name);
        var stranger = "logs-" + Guid.NewGuid().ToString("N")[..8];
        var other = await Node.SdkAsync(stranger);
        try
        {
            Assert.Empty(await AllAsync(other.LogsAsync(new LogQuery { Name = name })));
            Assert.Empty(await AllAsync(other.LogsAsync(new LogQuery())));
            var e = await Assert.ThrowsAsync<NefeleException>(() => AllAsync(other.LogsAsync(new LogQuery { Npids = [npids[0]] })));
            Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task Sdk_follow_picks_up_processes_that_start_later_and_match()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logf");
        var npids = new List<string>();
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            await using var records = tenant.LogsAsync(new LogQuery { Name = name, Follow = true }, cts.Token).GetAsyncEnumerator(cts.Token);
            var next = records.MoveNextAsync().AsTask();
            npids.Add(await tenant.SpawnAsync(Sh(name, "echo first-later; exec sleep 300")));
            npids.Add(await tenant.SpawnAsync(Sh(name + "-other", "echo not-this; exec sleep 300")));
            Assert.True(await next);
            Assert.Equal((npids[0], "first-later\n"), (records.Current.Npid, records.Current.Text));

            npids.Add(await tenant.SpawnAsync(Sh(name, "echo second-later; exec sleep 300")));
            Assert.True(await records.MoveNextAsync());
            Assert.Equal((npids[2], "second-later\n"), (records.Current.Npid, records.Current.Text));
            await cts.CancelAsync();
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task Sdk_follow_reads_a_process_that_started_and_ended_between_two_looks()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logq");
        string? npid = null;
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            await using var records = tenant.LogsAsync(new LogQuery { Name = name, Follow = true }, cts.Token).GetAsyncEnumerator(cts.Token);
            var next = records.MoveNextAsync().AsTask();

            // It ends before the follow looks for new processes again (once a second): its output is still read.
            npid = await tenant.SpawnAsync(Sh(name, "echo brief"));
            await tenant.WaitAsync(npid, cts.Token);
            Assert.True(await next);
            Assert.Equal((npid, "brief\n"), (records.Current.Npid, records.Current.Text));
            await cts.CancelAsync();
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
        }
        finally
        {
            if (npid is not null)
            {
                await Cleanup.KillAsync(tenant, [npid]);
            }
        }
    }

    [Fact]
    public async Task Follow_by_npids_ends_when_they_have_ended_and_follow_with_a_past_until_ends_after_what_is_kept()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("loge");
        var npid = await tenant.SpawnAsync(Sh(name, "trap 'kill $!; echo second; exit 0' USR1; echo first; sleep 1000 & wait"));
        try
        {
            using var cts = new CancellationTokenSource(Bound);
            var texts = new List<string>();
            await foreach (var r in tenant.LogsAsync(new LogQuery { Npids = [npid], Follow = true }, cts.Token))
            {
                texts.Add(r.Text);
                if (r.Text == "first\n")
                {
                    await tenant.KillAsync(npid, 10, cts.Token); // SIGUSR1: it writes its second line and ends
                }
            }

            Assert.Equal(["first\n", "second\n"], texts);

            var untilNow = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name, Follow = true, Until = DateTimeOffset.UtcNow }));
            Assert.Equal("first\nsecond\n", string.Concat(untilNow.Select(r => r.Text)));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Follow_with_a_near_until_ends_by_itself_once_it_has_passed_even_with_a_quiet_process_running()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logu");
        var npid = await tenant.SpawnAsync(Sh(name, "echo only; exec sleep 300"));
        try
        {
            // Ending at all is the behaviour under test; AllAsync bounds the wait.
            var records = await AllAsync(tenant.LogsAsync(new LogQuery { Name = name, Follow = true, Until = DateTimeOffset.UtcNow.AddSeconds(2) }));
            Assert.Equal("only\n", string.Concat(records.Select(r => r.Text)));
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Bad_filters_are_refused_naming_what_was_wrong()
    {
        var tenant = await Node.SdkAsync();
        var now = DateTimeOffset.UtcNow;
        var e = await Assert.ThrowsAsync<NefeleException>(() => AllAsync(tenant.LogsAsync(new LogQuery { Since = now, Until = now.AddSeconds(-1) })));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("until", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<NefeleException>(() => AllAsync(tenant.LogsAsync(new LogQuery { Name = "no spaces" })));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rest_sends_each_record_as_a_server_sent_event_and_ends_with_end()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logr");
        var npids = await EndedAsync(tenant, name);
        try
        {
            using var cts = new CancellationTokenSource(Bound);
            using var response = await Node.Http.GetAsync($"/v1/tenants/default/logs?name={name}&stream=stdout&since=1h", HttpCompletionOption.ResponseHeadersRead, cts.Token);
            response.EnsureSuccessStatusCode();
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var events = new List<(string Name, string Data)>();
            await foreach (var e in Sse.ReadAsync(response, cts.Token))
            {
                events.Add(e);
            }

            Assert.Equal("end", events[^1].Name);
            var records = events.Where(e => e.Name == "record").Select(e => JsonDocument.Parse(e.Data).RootElement).ToList();
            Assert.Equal(events.Count - 1, records.Count);
            var text = new StringBuilder();
            foreach (var r in records.Where(r => r.GetProperty("npid").GetString() == npids[0]))
            {
                text.Append(r.GetProperty("text").GetString());
            }

            Assert.Equal("a1\na2\n", text.ToString());
            Assert.All(records, r =>
            {
                Assert.Equal("stdout", r.GetProperty("stream").GetString());
                Assert.Equal(name, r.GetProperty("name").GetString());
                Assert.Equal(Node.Name, r.GetProperty("node").GetString());
                Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$", r.GetProperty("time").GetString());
                Assert.Equal(JsonValueKind.Null, r.GetProperty("base64").ValueKind);
            });
            Assert.DoesNotContain(records, r => r.GetProperty("npid").GetString() == npids[2]);

            using var bad = await Node.Http.GetAsync($"/v1/tenants/default/logs?name={name}&since=5 minutes", cts.Token);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("since", await bad.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);
            using var missing = await Node.Http.GetAsync("/v1/tenants/default/logs?npid=0000000000000", cts.Token);
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }

    [Fact]
    public async Task Rest_gives_output_that_is_not_utf8_with_replacement_text_and_its_exact_bytes()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logb");
        var npid = await tenant.SpawnAsync(Sh(name, @"printf 'ok\377\n'"));
        try
        {
            await tenant.WaitAsync(npid).WaitAsync(Bound);
            using var cts = new CancellationTokenSource(Bound);
            using var response = await Node.Http.GetAsync($"/v1/tenants/default/logs?npid={npid}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
            response.EnsureSuccessStatusCode();
            var records = new List<JsonElement>();
            await foreach (var (eventName, data) in Sse.ReadAsync(response, cts.Token))
            {
                if (eventName == "record")
                {
                    records.Add(JsonDocument.Parse(data).RootElement.Clone());
                }
            }

            var record = Assert.Single(records);
            Assert.Equal("ok\uFFFD\n", record.GetProperty("text").GetString());
            Assert.Equal(new byte[] { (byte)'o', (byte)'k', 0xFF, (byte)'\n' }, Convert.FromBase64String(record.GetProperty("base64").GetString()!));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Nef_prints_lines_prefixed_by_process_and_follows_by_name_since_5m()
    {
        var tenant = await Node.SdkAsync();
        var name = UniqueName("logn");
        var npids = (await EndedAsync(tenant, name)).ToList();
        try
        {
            var (code, stdout, stderr) = await Node.NefAsync("logs", "--name", name);
            Assert.True(code == 0, stderr);
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            string[] expected = [$"{name}/{npids[0]} | a1", $"{name}/{npids[0]} | a2", $"{name}/{npids[0]} stderr | a-err", $"{name}/{npids[1]} | b1"];
            Assert.True(expected.Order(StringComparer.Ordinal).SequenceEqual(lines.Order(StringComparer.Ordinal)), $"nef logs --name {name} printed:\n{stdout}");
            Assert.True(Array.IndexOf(lines, expected[0]) < Array.IndexOf(lines, expected[1]), stdout);

            using var follow = new BackgroundCommand(Path.Combine(RepoPaths.Root, "bin", "nef"), ["logs", "-f", "--name", name, "--since", "5m"], new Dictionary<string, string?>
            {
                ["NEFELE_API"] = Node.ApiUrl,
                [CredentialSources.TokenVariable] = Node.AdminKey,
                [CredentialSources.AdminKeyFileVariable] = "/nonexistent",
                ["XDG_CONFIG_HOME"] = "/nonexistent",
            });
            await Eventually.Until(() => follow.Out.Contains("b1\n", StringComparison.Ordinal) || follow.HasExited, Bound, "nef logs -f printed what was kept");
            npids.Add(await tenant.SpawnAsync(Sh(name, "echo late-comer; exec sleep 300")));
            await Eventually.Until(() => follow.Out.Contains($"{name}/{npids[^1]} | late-comer\n", StringComparison.Ordinal) || follow.HasExited, Bound, "nef logs -f printed the later process's line");
            Assert.False(follow.HasExited, follow.ErrorIfEnded);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }
    }
}
