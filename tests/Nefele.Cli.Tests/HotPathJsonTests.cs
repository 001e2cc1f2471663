using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Cli.Tests;

/// <summary>
/// The spawn and ps JSON that nef reads and writes without serializer metadata matches what the
/// source-generated context (the contract types' own shape) reads and writes, field for field.
/// </summary>
public sealed class HotPathJsonTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 3, 4, 5, 678, TimeSpan.FromHours(2));

    [Fact]
    public void The_spawn_request_is_written_as_the_context_writes_it()
    {
        var request = new SpawnRequest
        {
            RequestId = "r-1",
            Count = 3,
            AllowPartial = true,
            Spread = true,
            Tasks =
            [
                new ProcessSpec
                {
                    Path = "/bin/sleep", Args = ["5", "a \"quoted\" ü"], Env = new Dictionary<string, string> { ["K"] = "V", ["E"] = "" },
                    Cwd = "/tmp", CpuMillis = 1500, MemoryBytes = 1L << 26, Name = "w", NoHandshake = true,
                    Devices = new Dictionary<string, long> { ["gpu"] = 2 }, Affinity = ["label:zone=a"], AntiAffinity = ["name:x"],
                    Rlimits = new Dictionary<string, long> { ["nofile"] = 1024 },
                },
                new ProcessSpec { Path = "/bin/true" },
            ],
        };

        var written = JsonNode.Parse(HotPathJson.WriteSpawnRequest(request));
        var expected = JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(request, NefJsonContext.Default.SpawnRequest));

        Assert.True(JsonNode.DeepEquals(expected, written), $"expected {expected?.ToJsonString()}\nwritten  {written?.ToJsonString()}");
    }

    [Fact]
    public void A_process_list_is_read_as_the_context_reads_it_in_every_state()
    {
        var processes = Enum.GetValues<ProcessState>().Select((state, i) => new ProcessInfo
        {
            Npid = $"npid{i}", Tenant = "acme", Node = i % 2 == 0 ? "n1" : null, Pid = 40 + i, State = state, CpuMillis = 250 + i,
            MemoryBytes = 1L << 26, CreatedAt = T0, StartedAt = i % 2 == 0 ? T0.AddSeconds(1) : null, Command = "/bin/sleep 100",
            Name = i % 2 == 0 ? "w" : null, CpuUsageNs = 123_456_789_012 + i, MemoryUsageBytes = 987_654 + i, Seq = 7 + i,
            End = state.IsTerminal()
                ? new ProcessEnd { State = state, ExitCode = 3, Signal = 9, CoreDumped = true, OomKilled = true, Reason = "why \"not\"", EndedAt = T0.AddMinutes(1) }
                : null,
        }).ToList();
        var json = JsonSerializer.SerializeToUtf8Bytes(new ProcessListDto { Processes = processes }, NefJsonContext.Default.ProcessListDto);

        var read = HotPathJson.ReadProcessList(json);

        Assert.Equal(processes, read);
        Assert.Equal(JsonSerializer.Deserialize(json, NefJsonContext.Default.ProcessListDto)!.Processes, read);
    }

    [Fact]
    public void Reading_follows_the_contexts_rules_for_case_comments_commas_numbers_and_unknown_fields()
    {
        const string json = """
            {
              // the node may add fields nef does not know
              "Later": {"nested": [1, 2, {"x": null}]},
              "PROCESSES": [
                {"NPID": "a", "tenant": "acme", "state": "running", "command": "/bin/x", "startedAt": null, "end": null, "extra": 1,},
                {"npid": "b", "tenant": "acme", "state": 5, "command": "/bin/y", "end": {"State": "Exited", "exitCode": 0, "description": "exited 0"}},
              ],
            }
            """;
        var bytes = Encoding.UTF8.GetBytes(json);

        var read = HotPathJson.ReadProcessList(bytes);

        Assert.Equal(JsonSerializer.Deserialize(bytes, NefJsonContext.Default.ProcessListDto)!.Processes, read);
        Assert.Equal([ProcessState.Running, ProcessState.Exited], read.Select(p => p.State));
    }

    [Theory]
    [InlineData("""{"npids":["a","b"],"rejected":["no capacity"]}""")]
    [InlineData("""{"npids":["a"]}""")]
    [InlineData("""{"rejected":null,"npids":[],"other":{}}""")]
    public void A_spawn_result_is_read_as_the_context_reads_it(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        var read = HotPathJson.ReadSpawnResult(bytes);
        var expected = JsonSerializer.Deserialize(bytes, NefJsonContext.Default.SpawnResult)!;

        Assert.Equal(expected.Npids, read.Npids);
        Assert.Equal(expected.Rejected ?? [], read.Rejected); // a null list reads as empty, as nef used it
    }

    [Theory]
    [InlineData("""{"processes":[{"npid":5,"tenant":"acme","state":"Running","command":"x"}]}""")]
    [InlineData("""{"processes":[{"tenant":"acme","state":"Running","command":"x"}]}""")]
    [InlineData("""{"processes":[{"npid":"a","tenant":"acme","state":"Sleeping","command":"x"}]}""")]
    [InlineData("""{"processes":[{"npid":"a","tenant":"acme","state":"Running","command":"x","pid":"42"}]}""")]
    [InlineData("""{"processes":[{"npid":"a","tenant":"acme","state":"Running","command":"x","createdAt":"yesterday"}]}""")]
    [InlineData("""{"processes":[""")]
    [InlineData("""[]""")]
    public void A_malformed_process_list_is_a_json_error(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        Assert.ThrowsAny<JsonException>(() => HotPathJson.ReadProcessList(bytes));
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(bytes, NefJsonContext.Default.ProcessListDto));
    }

    [Fact]
    public async Task A_malformed_answer_to_ps_is_reported_as_such()
    {
        await using var server = new TestApiServer((_, r) => TestApiServer.WriteAsync(r, 200, "application/json", """{"processes":[{"npid":5}]}"""));

        var run = await NefRun.RunAsync(new Dictionary<string, string?> { ["NEFELE_API"] = server.Url }, "ps");

        Assert.Equal(1, run.Status);
        Assert.StartsWith("nef: the Nefele API sent a malformed response: ", run.Err, StringComparison.Ordinal);
    }
}
