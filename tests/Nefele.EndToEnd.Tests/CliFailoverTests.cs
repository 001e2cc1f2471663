using Nefele.Auth;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// bin/nef with two API endpoints in front of a real node: when the one in use dies mid-stream,
/// logs -f and monitor go on through the other from the last byte or event seen, so the output
/// has nothing twice and nothing missing.
/// </summary>
public sealed class CliFailoverTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private NodeUnderTest Node => fixture.Node;

    /// <summary>Prints "first", then "second" when sent SIGUSR1, and exits 0.</summary>
    private static ProcessSpec TwoPartWriter() => new()
    {
        Path = "/bin/sh",
        Args = ["-c", "trap 'kill $!; echo second; exit 0' USR1; echo first; sleep 1000 & wait"],
    };

    [Fact]
    public async Task Logs_follow_resumes_through_the_other_endpoint_when_the_first_dies()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(TwoPartWriter());
        await using var first = new CuttableProxy(Node.ApiPort);
        await using var second = new CuttableProxy(Node.ApiPort);
        try
        {
            using var nef = StartNef($"{first.Url},{second.Url}", "logs", "-f", npid);
            await Eventually.Until(() => nef.Out.Contains("first\n", StringComparison.Ordinal), Bound, "nef printed the first line");

            first.Cut();
            await tenant.KillAsync(npid, 10); // SIGUSR1: the process writes its second line and ends
            var (code, stdout, stderr) = await nef.WaitAsync(Bound);

            Assert.True(code == 0, stderr);
            Assert.Equal("first\nsecond\n", stdout);
            Assert.Contains("offset=6", second.Requests, StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Monitor_resumes_through_the_other_endpoint_when_the_first_dies()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(TwoPartWriter());
        await using var first = new CuttableProxy(Node.ApiPort);
        await using var second = new CuttableProxy(Node.ApiPort);
        try
        {
            using var nef = StartNef($"{first.Url},{second.Url}", "monitor", npid);
            // The stream is open once the node's first event has come back through the proxy.
            await Eventually.Until(() => first.Responses.Contains("event: state", StringComparison.Ordinal), Bound, "the event stream is open");

            first.Cut();
            await tenant.KillAsync(npid, 10);
            var (code, stdout, stderr) = await nef.WaitAsync(Bound);

            Assert.True(code == 0, stderr);
            Assert.Equal("exited 0\n", stdout);
            Assert.Contains("/events?after=", second.Requests, StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    /// <summary>bin/nef in the background against <paramref name="api"/>, with the node's admin key and no other credentials.</summary>
    private BackgroundCommand StartNef(string api, params string[] args) => new(
        Path.Combine(RepoPaths.Root, "bin", "nef"),
        args,
        new Dictionary<string, string?>
        {
            ["NEFELE_API"] = api,
            [CredentialSources.TokenVariable] = Node.AdminKey,
            [CredentialSources.AdminKeyFileVariable] = "/nonexistent",
            ["XDG_CONFIG_HOME"] = "/nonexistent",
        });
}
