using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The in-process C# library (src/Nefele.Process) in a program run as a Nefele process on a real node
/// (tests/Nefele.ProcessProbe), talking to the C program of <see cref="CApiMessagingTests"/> through
/// libnefele: each answers the other by name, in order.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class ProcessLibraryTests(NodeFixture fixture) : IDisposable
{
    private readonly string _dir = TestDirectory.Create("nefele-process-library-");

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task A_CSharp_process_answers_a_C_process_by_name()
    {
        var c = await LibnefeleProgram.CompileAsync(_dir, "messaging", CApiMessagingTests.Program);
        var tenant = await Node.SdkAsync("process-lib-pong");
        var ponger = await tenant.SpawnAsync(Probe("pong", "csharp-echo"));
        var pinger = await tenant.SpawnAsync(new ProcessSpec { Path = c, Args = ["ping", "csharp-echo", "4"] });
        try
        {
            var ping = await CApiMessagingTests.OutputAfterEndAsync(tenant, pinger);
            Assert.Equal([.. Enumerable.Range(1, 4).Select(i => $"reply pong:{i} tag=pong seq={i}")], CApiMessagingTests.Lines(ping, "reply "));
            var pong = await CApiMessagingTests.OutputAfterEndAsync(tenant, ponger);
            Assert.Equal($"registered csharp-echo holders=1 self={ponger}", CApiMessagingTests.Line(pong, "registered "));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, pinger, ponger);
        }
    }

    [Fact]
    public async Task A_C_process_answers_a_CSharp_process_by_name()
    {
        var c = await LibnefeleProgram.CompileAsync(_dir, "messaging", CApiMessagingTests.Program);
        var tenant = await Node.SdkAsync("process-lib-ping");
        var pinger = await tenant.SpawnAsync(Probe("ping", "c-echo", "4"));
        var ponger = await tenant.SpawnAsync(new ProcessSpec { Path = c, Args = ["pong", "c-echo"] });
        try
        {
            var ping = await CApiMessagingTests.OutputAfterEndAsync(tenant, pinger);
            Assert.Equal("waited holders=1", CApiMessagingTests.Line(ping, "waited "));
            Assert.Equal([.. Enumerable.Range(1, 4).Select(i => $"reply pong:{i} tag=pong seq={i}")], CApiMessagingTests.Lines(ping, "reply "));
            await CApiMessagingTests.OutputAfterEndAsync(tenant, ponger);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, pinger, ponger);
        }
    }

    [Fact]
    public async Task A_CSharp_process_takes_a_C_process_replies_in_batches_all_of_them_in_order()
    {
        const int Count = 20;
        var c = await LibnefeleProgram.CompileAsync(_dir, "messaging", CApiMessagingTests.Program);
        var tenant = await Node.SdkAsync("process-lib-batch");
        var ponger = await tenant.SpawnAsync(new ProcessSpec { Path = c, Args = ["pong", "c-batch-echo"] });
        var pinger = await tenant.SpawnAsync(Probe("ping-batch", "c-batch-echo", Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        try
        {
            var ping = await CApiMessagingTests.OutputAfterEndAsync(tenant, pinger);
            Assert.Equal([.. Enumerable.Range(1, Count).Select(i => $"reply pong:{i} tag=pong seq={i}")], CApiMessagingTests.Lines(ping, "reply "));
            var batches = CApiMessagingTests.Lines(ping, "batch ").Select(l => int.Parse(l["batch ".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.All(batches, n => Assert.InRange(n, 1, Count));
            Assert.Equal(Count, batches.Sum());
            await CApiMessagingTests.OutputAfterEndAsync(tenant, ponger);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, pinger, ponger);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The probe under dotnet, as a Nefele process.</summary>
    private ProcessSpec Probe(params string[] args)
    {
        var probe = Path.Combine(RepoPaths.Root, "tests", "Nefele.ProcessProbe", "bin", RepoPaths.Configuration, "net10.0", "nefele-process-probe.dll");
        Assert.True(File.Exists(probe), $"{probe} is missing: build the solution");
        return new ProcessSpec
        {
            Path = "dotnet",
            Args = [probe, .. args],
            Env = new Dictionary<string, string>
            {
                ["HOME"] = _dir,
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_NOLOGO"] = "1",
            },
        };
    }
}
