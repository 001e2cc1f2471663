using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// Named services on a real node: registered through the SDK, REST and the process socket
/// (libnefele in a real process), read back from hostd's own copy of the tenant's table, waited
/// for, listed, dying with their process, and never visible to another tenant.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class NamesTests(NodeFixture fixture) : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    // Registers argv[1] for itself (or, with argv[2], waits up to that many ms for argv[1]),
    // then reads the name back from hostd's table and stays until killed.
    private const string Program = """
        #include <nefele.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>

        int main(int argc, char **argv) {
            setvbuf(stdout, NULL, _IONBF, 0);
            npid_t self, holders[8];
            size_t n = 0;
            if (nefele_self(&self) < 0) return 10;
            if (argc == 3) {
                int rc = nefele_wait(argv[1], atoi(argv[2]), holders, 8, &n);
                if (rc < 0) { printf("wait=%d %s\n", rc, nefele_last_error()); return 0; }
                printf("waited=%s\n", n > 0 ? holders[0].id : "");
                return 0;
            }
            int rc = nefele_register(argv[1], NULL);
            if (rc < 0) { printf("register=%d %s\n", rc, nefele_last_error()); return 0; }
            rc = nefele_wait(argv[1], 0, holders, 8, &n);
            int mine = 0;
            for (size_t i = 0; i < n && i < 8; i++) if (__builtin_strcmp(holders[i].id, self.id) == 0) mine = 1;
            printf("registered rc=%d local=%d\n", rc, mine);
            for (;;) pause();
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-names-");

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task A_process_registers_itself_over_the_socket_sees_it_on_its_node_and_the_name_dies_with_it()
    {
        var tenant = await Node.SdkAsync("names-socket");
        var binary = await LibnefeleProgram.CompileAsync(_dir, "names", Program);
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["web"] });
        try
        {
            Assert.Equal("registered rc=0 local=1\n", await OutputAsync(tenant, npid, "registered"));
            var entry = Assert.Single(await tenant.ListNamesAsync());
            Assert.Equal("web", entry.Name);
            Assert.Equal(npid, Assert.Single(entry.Holders).Npid);
            Assert.Equal(Node.Name, entry.Holders[0].Node);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }

        await Eventually.Until(async () => (await tenant.ListNamesAsync()).Count == 0, Bound, "the name of a killed process is gone");
    }

    [Fact]
    public async Task A_process_waiting_on_its_node_sees_a_name_the_sdk_registers()
    {
        var tenant = await Node.SdkAsync("names-wait");
        var binary = await LibnefeleProgram.CompileAsync(_dir, "names", Program);
        var holder = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["60"] });
        var waiter = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["late", "10000"] });
        var timedOut = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["never", "100"] });
        try
        {
            await tenant.RegisterAsync("late", holder);

            await tenant.WaitAsync(waiter).WaitAsync(Bound);
            Assert.Equal($"waited={holder}\n", await OutputAsync(tenant, waiter, "waited"));
            await tenant.WaitAsync(timedOut).WaitAsync(Bound);
            Assert.StartsWith("wait=-", await OutputAsync(tenant, timedOut, "wait="), StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, holder, waiter, timedOut);
        }
    }

    [Fact]
    public async Task Sdk_registers_groups_in_order_waits_and_lists()
    {
        var tenant = await Node.SdkAsync("names-sdk");
        var npids = await tenant.NSpawnAsync(2, new ProcessSpec { Path = "/bin/sleep", Args = ["60"] });
        try
        {
            var none = await Assert.ThrowsAsync<NefeleException>(() => tenant.WaitForNameAsync("#80", TimeSpan.Zero));
            Assert.Equal(ErrorCodes.NameNotFound, none.Code);
            var late = await Assert.ThrowsAsync<NefeleException>(() => tenant.WaitForNameAsync("#80", TimeSpan.FromMilliseconds(200)));
            Assert.Equal(ErrorCodes.TimedOut, late.Code);

            var waiting = tenant.WaitForNameAsync("#80", TimeSpan.FromSeconds(20));
            await tenant.RegisterAsync("#80", npids[1]);
            Assert.Equal(npids[1], Assert.Single(await waiting.WaitAsync(Bound)).Npid);
            Assert.Equal([npids[1], npids[0]], await tenant.RegisterAsync("#80", npids[0]));
            await tenant.SubscribeAsync("news", npids[0]);

            Assert.Equal([npids[1], npids[0]], Assert.Single(await tenant.ListNamesAsync()).Holders.Select(h => h.Npid));
            Assert.Equal([npids[0]], Assert.Single(await tenant.ListTopicsAsync()).Holders.Select(h => h.Npid));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npids);
        }

        await Eventually.Until(async () => (await tenant.ListNamesAsync()).Count == 0 && (await tenant.ListTopicsAsync()).Count == 0, Bound, "names and topics gone with their processes");
    }

    [Fact]
    public async Task Rest_registers_waits_lists_and_refuses_bad_names_naming_the_rule()
    {
        var tenant = await Node.SdkAsync("names-rest");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["60"] });
        var http = Node.Http;
        const string Base = "/v1/tenants/names-rest";
        try
        {
            var missing = await http.GetAsync($"{Base}/names/%2380");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal(ErrorCodes.NameNotFound, await CodeAsync(missing));
            var late = await http.GetAsync($"{Base}/names/%2380?wait=200ms");
            Assert.Equal(HttpStatusCode.RequestTimeout, late.StatusCode);
            Assert.Equal(ErrorCodes.TimedOut, await CodeAsync(late));

            var put = await http.PutAsJsonAsync($"{Base}/names/%2380", new { npid });
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal(npid, JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement.GetProperty("npids")[0].GetString());

            var got = JsonDocument.Parse(await http.GetStringAsync($"{Base}/names/%2380?wait=1s")).RootElement;
            Assert.Equal("#80", got.GetProperty("name").GetString());
            Assert.Equal(npid, got.GetProperty("holders")[0].GetProperty("npid").GetString());
            Assert.Equal(Node.Name, got.GetProperty("holders")[0].GetProperty("node").GetString());

            var list = JsonDocument.Parse(await http.GetStringAsync($"{Base}/names?prefix=%23")).RootElement.GetProperty("names");
            Assert.Equal("#80", Assert.Single(list.EnumerateArray()).GetProperty("name").GetString());

            Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync($"{Base}/topics/news/subscribers/{npid}", null)).StatusCode);
            var topics = JsonDocument.Parse(await http.GetStringAsync($"{Base}/topics")).RootElement.GetProperty("names");
            Assert.Equal("news", Assert.Single(topics.EnumerateArray()).GetProperty("name").GetString());
            Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{Base}/topics/news/subscribers/{npid}")).StatusCode);

            var bad = await http.PutAsJsonAsync($"{Base}/names/-web", new { npid });
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("not shaped like an NPID", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var npidShaped = await http.PutAsJsonAsync($"{Base}/names/{npid}", new { npid });
            Assert.Equal(HttpStatusCode.BadRequest, npidShaped.StatusCode);
            var badWait = await http.GetAsync($"{Base}/names/%2380?wait=soon");
            Assert.Equal(HttpStatusCode.BadRequest, badWait.StatusCode);
            Assert.Contains("wait", await badWait.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // No npid: the caller's own mailbox, the one GET /mailbox shows.
            var own = await http.PutAsJsonAsync($"{Base}/names/inbox", new { });
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            var mailbox = JsonDocument.Parse(await http.GetStringAsync($"{Base}/mailbox")).RootElement.GetProperty("address").GetString();
            Assert.Equal(mailbox, JsonDocument.Parse(await own.Content.ReadAsStringAsync()).RootElement.GetProperty("npids")[0].GetString());
            Assert.Null(Assert.Single((await tenant.WaitForNameAsync("inbox", TimeSpan.Zero))).Node);
            Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{Base}/names/inbox?npid={mailbox}")).StatusCode);

            Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{Base}/names/%2380?npid={npid}")).StatusCode);
            var again = await http.DeleteAsync($"{Base}/names/%2380?npid={npid}");
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            Assert.Equal(ErrorCodes.NameNotFound, await CodeAsync(again));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task An_sdk_programs_mailbox_holds_a_name_until_it_is_closed_and_a_mailbox_not_open_holds_none()
    {
        var tenant = await Node.SdkAsync("names-mailbox");
        const string Base = "/v1/tenants/names-mailbox";
        var mailbox = await tenant.OpenMailboxAsync();
        var closed = await tenant.OpenMailboxAsync();
        await closed.DisposeAsync();
        try
        {
            Assert.Equal([mailbox.Address], await mailbox.RegisterAsync("desk").WaitAsync(Bound));
            Assert.Null(Assert.Single(await tenant.WaitForNameAsync("desk", TimeSpan.Zero)).Node);

            // A mailbox that was never opened, or was closed, holds nothing: refused by name, nothing changed.
            foreach (var address in new[] { Messaging.MailboxAddress.NewRandom(), closed.Address })
            {
                var sdk = await Assert.ThrowsAsync<NefeleException>(() => tenant.RegisterAsync("desk", address));
                Assert.Equal(ErrorCodes.NpidNotFound, sdk.Code);
                Assert.Contains(address, sdk.Message, StringComparison.Ordinal);
                var rest = await Node.Http.PutAsJsonAsync($"{Base}/names/desk", new { npid = address });
                Assert.Equal(HttpStatusCode.NotFound, rest.StatusCode);
                Assert.Equal(ErrorCodes.NpidNotFound, await CodeAsync(rest));
                Assert.Equal(HttpStatusCode.NotFound, (await Node.Http.PutAsync($"{Base}/topics/news/subscribers/{address}", null)).StatusCode);
            }

            Assert.Equal([mailbox.Address], Assert.Single(await tenant.ListNamesAsync()).Holders.Select(h => h.Npid));
            Assert.Empty(await tenant.ListTopicsAsync());

            // Closing the mailbox takes its name with it.
            await mailbox.DisposeAsync();
            Assert.Empty(await tenant.ListNamesAsync());
            Assert.Equal(ErrorCodes.NameNotFound, (await Assert.ThrowsAsync<NefeleException>(() => tenant.WaitForNameAsync("desk", TimeSpan.Zero))).Code);
        }
        finally
        {
            await mailbox.DisposeAsync();
        }
    }

    [Fact]
    public async Task Tenants_never_see_or_use_each_others_names()
    {
        var mine = await Node.SdkAsync("names-a");
        var npid = await mine.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["60"] });
        try
        {
            await mine.RegisterAsync("secret", npid);
            var theirs = await Node.SdkAsync("names-b");
            Assert.Empty(await theirs.ListNamesAsync());
            Assert.Equal(ErrorCodes.NameNotFound, (await Assert.ThrowsAsync<NefeleException>(() => theirs.WaitForNameAsync("secret", TimeSpan.Zero))).Code);
            Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => theirs.RegisterAsync("stolen", npid))).Code);

            // A key of the other tenant cannot reach this tenant's names over REST at all.
            var key = await Node.CreateKeyAsync("names-b", "reader", Role.Viewer);
            using var other = new HttpClient { BaseAddress = new Uri(Node.ApiUrl) };
            other.DefaultRequestHeaders.Authorization = new("Bearer", key);
            Assert.Equal(HttpStatusCode.Forbidden, (await other.GetAsync("/v1/tenants/names-a/names")).StatusCode);
            Assert.Equal("{\"names\":[]}", await other.GetStringAsync("/v1/tenants/names-b/names"));
        }
        finally
        {
            await Cleanup.KillAsync(mine, npid);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<string?> CodeAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString();

    /// <summary>The process's output once it contains <paramref name="marker"/> (bounded).</summary>
    private static async Task<string> OutputAsync(NefeleTenant tenant, string npid, string marker)
    {
        var text = string.Empty;
        await Eventually.Until(async () =>
        {
            var all = new StringBuilder();
            await foreach (var chunk in tenant.LogsAsync(npid, follow: false))
            {
                all.Append(Encoding.UTF8.GetString(chunk));
            }

            text = all.ToString();
            return text.Contains(marker, StringComparison.Ordinal);
        }, Bound, $"{npid} wrote '{marker}'");
        return text;
    }
}
