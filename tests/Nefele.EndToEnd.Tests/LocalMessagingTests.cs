using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// Messages between C programs on one node through a real silo: names registered with the name
/// service and pushed to hostd, sends answered by hostd from its mailboxes and tables.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class LocalMessagingTests(NodeFixture fixture) : IDisposable
{
    // server NAME N: registers NAME, answers N requests to their sender ("re:" + data, tag reply).
    // client NAME N: waits for NAME, sends N requests to it (acknowledged) and reads each answer.
    // probe NAME NPID: waits briefly for NAME, then sends to NPID with ack; prints both outcomes.
    private const string Program = """
        #include <nefele.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        int main(int argc, char **argv) {
            if (argc < 4) return 2;
            const char *name = argv[2];
            if (strcmp(argv[1], "server") == 0) {
                int n = atoi(argv[3]);
                int holders = nefele_register(name, NULL);
                if (holders < 0) { printf("register failed %d: %s\n", holders, nefele_last_error()); return 10; }
                for (int i = 0; i < n; i++) {
                    nefele_msg m;
                    int rc = nefele_recv(&m, 20000, NULL);
                    if (rc < 0) { printf("recv failed %d: %s\n", rc, nefele_last_error()); return 11; }
                    char reply[256];
                    int len = snprintf(reply, sizeof reply, "re:%.*s", (int)m.len, (const char *)m.data);
                    rc = nefele_message(m.from, "reply", reply, (size_t)len, NEFELE_MSG_ACK, 1000);
                    if (rc != 1) { printf("reply failed %d: %s\n", rc, nefele_last_error()); return 12; }
                    printf("request %s seq=%llu to=%s\n", (const char *)m.data, m.seq, m.to);
                    nefele_msg_free(&m);
                }
                return 0;
            }
            if (strcmp(argv[1], "client") == 0) {
                int n = atoi(argv[3]);
                npid_t holder;
                size_t count = 0;
                int rc = nefele_wait(name, 20000, &holder, 1, &count);
                if (rc < 0) { printf("wait failed %d: %s\n", rc, nefele_last_error()); return 20; }
                printf("holder=%s count=%zu\n", holder.id, count);
                for (int i = 0; i < n; i++) {
                    char req[32];
                    int len = snprintf(req, sizeof req, "q%d", i);
                    rc = nefele_message(name, NULL, req, (size_t)len, NEFELE_MSG_ACK, 1000);
                    if (rc != 1) { printf("send failed %d: %s\n", rc, nefele_last_error()); return 21; }
                    nefele_msg m;
                    rc = nefele_recv(&m, 20000, "reply");
                    if (rc < 0) { printf("recv failed %d: %s\n", rc, nefele_last_error()); return 22; }
                    printf("answer %s from=%s seq=%llu\n", (const char *)m.data, m.from, m.seq);
                    nefele_msg_free(&m);
                }
                return 0;
            }
            npid_t none;
            int waited = nefele_wait(name, 300, &none, 1, NULL);
            int sent = nefele_message(argv[3], NULL, "x", 1, NEFELE_MSG_ACK, 0);
            printf("wait=%d send=%d\n", waited, sent);
            return 0;
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-mail-");

    [Fact]
    public async Task Two_processes_on_one_node_talk_by_name_in_order()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "mail", Program);
        var tenant = await fixture.Node.SdkAsync("mail-local");
        var name = "echo-" + Guid.NewGuid().ToString("N")[..8];
        var server = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["server", name, "3"] });
        var client = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["client", name, "3"] });
        try
        {
            var clientEnd = await tenant.WaitAsync(client).WaitAsync(Cleanup.Wait);
            var serverEnd = await tenant.WaitAsync(server).WaitAsync(Cleanup.Wait);
            var clientOut = await ReadAllAsync(tenant, client);
            var serverOut = await ReadAllAsync(tenant, server);
            Assert.True(clientEnd.ExitCode == 0 && serverEnd.ExitCode == 0, $"client: {clientOut}\nserver: {serverOut}");

            Assert.Contains($"holder={server} count=1", clientOut, StringComparison.Ordinal);
            Assert.Contains($"answer re:q0 from={server} seq=1\nanswer re:q1 from={server} seq=2\nanswer re:q2 from={server} seq=3\n", clientOut, StringComparison.Ordinal);
            Assert.Equal($"request q0 seq=1 to={name}\nrequest q1 seq=2 to={name}\nrequest q2 seq=3 to={name}\n", serverOut);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, server, client);
        }
    }

    [Fact]
    public async Task A_process_sees_neither_the_names_nor_the_mailboxes_of_another_tenant()
    {
        var binary = await LibnefeleProgram.CompileAsync(_dir, "mail", Program);
        var owner = await fixture.Node.SdkAsync("mail-owner");
        var stranger = await fixture.Node.SdkAsync("mail-stranger");
        var name = "private-" + Guid.NewGuid().ToString("N")[..8];
        var server = await owner.SpawnAsync(new ProcessSpec { Path = binary, Args = ["server", name, "1"] });
        var probe = "";
        try
        {
            // The owner's name is registered (a process of the owner's tenant sees it) before the stranger looks.
            var witness = await owner.SpawnAsync(new ProcessSpec { Path = binary, Args = ["probe", name, server] });
            await owner.WaitAsync(witness).WaitAsync(Cleanup.Wait);
            Assert.Contains("wait=0 send=1", await ReadAllAsync(owner, witness), StringComparison.Ordinal);

            probe = await stranger.SpawnAsync(new ProcessSpec { Path = binary, Args = ["probe", name, server] });
            var end = await stranger.WaitAsync(probe).WaitAsync(Cleanup.Wait);
            var output = await ReadAllAsync(stranger, probe);
            Assert.True(end.ExitCode == 0, output);

            // Its wait times out (-ETIMEDOUT) and the owner's process, on the same node, is to it no process at all (-ESRCH).
            Assert.Equal("wait=-110 send=-3\n", output);
        }
        finally
        {
            await Cleanup.KillAsync(owner, server);
            if (probe.Length > 0)
            {
                await Cleanup.KillAsync(stranger, probe);
            }
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<string> ReadAllAsync(NefeleTenant tenant, string npid)
    {
        var text = new StringBuilder();
        await foreach (var chunk in tenant.LogsAsync(npid, follow: false))
        {
            text.Append(Encoding.UTF8.GetString(chunk));
        }

        return text.ToString();
    }
}
