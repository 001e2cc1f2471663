using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// libnefele's messaging calls (nefele.h, NEFELE_1.1) between C programs running as Nefele processes on
/// a real node: ping-pong by NPID and by name, a name waited for before it is registered, receive
/// timeouts, the pollable receive, publish to subscribers, and the names listing.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class CApiMessagingTests(NodeFixture fixture) : IDisposable
{
    // Linux errno values (asm-generic/errno.h), written here independently of nefele.h.
    private const int ETIMEDOUT = 110, EADDRNOTAVAIL = 99;

    internal const string Program = """
        #include <nefele.h>
        #include <poll.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        #define FAIL(what, rc) do { printf("fail %s rc=%d error=%s\n", what, rc, nefele_last_error()); return 1; } while (0)

        /* pong NAME: answers every "ping" with "pong:" + its data, to its sender, until "quit". */
        static int pong(const char *name) {
            int rc = nefele_register(name, NULL);
            if (rc < 1) FAIL("register", rc);
            printf("registered %s holders=%d\n", name, rc);
            fflush(stdout);
            for (;;) {
                nefele_msg m;
                rc = nefele_recv(&m, 30000, NULL);
                if (rc < 0) FAIL("recv", rc);
                if (strcmp(m.data, "quit") == 0) { nefele_msg_free(&m); return 0; }
                char reply[256];
                int n = snprintf(reply, sizeof reply, "pong:%s", (char *)m.data);
                rc = nefele_message(m.from, "pong", reply, (size_t)n, NEFELE_MSG_ACK, 0);
                nefele_msg_free(&m);
                if (rc != 1) FAIL("reply", rc);
            }
        }

        /* ping TARGET COUNT: waits for TARGET when it is a name, sends COUNT pings, prints each reply in turn. */
        static int ping(const char *target, int count) {
            npid_t holders[4];
            size_t n = 0;
            int rc = nefele_wait(target, 20000, holders, 4, &n);
            if (rc < 0 && rc != -EINVAL && rc != -EADDRNOTAVAIL) FAIL("wait", rc);
            if (rc == 0) printf("waited holders=%zu\n", n);
            for (int i = 1; i <= count; i++) {
                char data[32];
                int len = snprintf(data, sizeof data, "%d", i);
                rc = nefele_message(target, "ping", data, (size_t)len, 0, 0);
                if (rc != 1) FAIL("send", rc);
            }
            for (int i = 1; i <= count; i++) {
                nefele_msg m;
                rc = nefele_recv(&m, 20000, "pong");
                if (rc < 0) FAIL("recv", rc);
                printf("reply %s tag=%s seq=%llu\n", (char *)m.data, m.tag, m.seq);
                nefele_msg_free(&m);
            }
            rc = nefele_message(target, NULL, "quit", 4, NEFELE_MSG_ACK, 0);
            if (rc != 1) FAIL("quit", rc);
            printf("done\n");
            return 0;
        }

        static int timeouts(void) {
            nefele_msg m;
            int rc = nefele_recv(&m, 300, NULL);
            printf("recv rc=%d error=%s\n", rc, rc < 0 ? nefele_last_error() : "");
            npid_t h[1];
            size_t n = 0;
            rc = nefele_wait("nobody-holds-this", 300, h, 1, &n);
            printf("wait rc=%d error=%s\n", rc, rc < 0 ? nefele_last_error() : "");
            rc = nefele_message("nobody-holds-this", NULL, "x", 1, 0, 0);
            printf("send rc=%d error=%s\n", rc, rc < 0 ? nefele_last_error() : "");
            return 0;
        }

        /* The pollable receive: not readable while the mailbox is empty, readable once a message is in it. */
        static int pollfd(void) {
            npid_t me;
            int rc = nefele_self(&me);
            if (rc < 0) FAIL("self", rc);
            int fd = nefele_recv_fd("poll", 10000);
            if (fd < 0) FAIL("recv_fd", fd);
            struct pollfd p = { fd, POLLIN, 0 };
            printf("before %d\n", poll(&p, 1, 300));
            rc = nefele_message(me.id, "poll", "knock", 5, NEFELE_MSG_ACK, 0);
            if (rc != 1) FAIL("send to self", rc);
            printf("after %d\n", poll(&p, 1, 10000));
            nefele_msg m;
            rc = nefele_recv_result(fd, &m);
            if (rc < 0) FAIL("recv_result", rc);
            printf("got %s from-self=%d\n", (char *)m.data, strcmp(m.from, me.id) == 0);
            nefele_msg_free(&m);
            return 0;
        }

        /* sub TOPIC: subscribes, then prints the one message published to it. */
        static int sub(const char *topic) {
            int rc = nefele_subscribe(topic, NULL);
            if (rc < 0) FAIL("subscribe", rc);
            nefele_msg m;
            rc = nefele_recv(&m, 30000, NULL);
            if (rc < 0) FAIL("recv", rc);
            printf("got %s to=%s\n", (char *)m.data, m.to);
            nefele_msg_free(&m);
            return 0;
        }

        /* pub TOPIC N: once the topic has N subscribers, publishes to it. */
        static int pub(const char *topic, size_t want) {
            for (int tries = 0; tries < 200; tries++) {
                nefele_name *names = NULL;
                size_t count = 0;
                int rc = nefele_names(topic, NEFELE_NAMES_TOPICS, &names, &count);
                if (rc < 0) FAIL("names", rc);
                size_t have = 0;
                for (size_t i = 0; i < count; i++)
                    if (strcmp(names[i].name, topic) == 0) have = names[i].n_holders;
                nefele_names_free(names, count);
                if (have >= want) {
                    rc = nefele_publish(topic, "news", "extra", 5, NEFELE_MSG_ACK, 0);
                    printf("delivered %d\n", rc);
                    return rc < 0;
                }
                nefele_msg m; /* nothing comes: a 50 ms pause that is not a sleep */
                if (nefele_recv(&m, 50, "never") == 0) nefele_msg_free(&m);
            }
            FAIL("subscribers never came", 0);
        }

        static void print_names(const char *label, const char *prefix) {
            nefele_name *names = NULL;
            size_t count = 0;
            int rc = nefele_names(prefix, 0, &names, &count);
            printf("%s rc=%d count=%zu", label, rc, count);
            for (size_t i = 0; i < count; i++)
                printf(" %s:%zu:%s:%s", names[i].name, names[i].n_holders,
                       names[i].n_holders ? names[i].holders[0].npid : "-", names[i].n_holders ? names[i].holders[0].node : "-");
            printf("\n");
            nefele_names_free(names, count);
        }

        static int names(void) {
            npid_t me;
            nefele_self(&me);
            printf("self %s\n", me.id);
            int a = nefele_register("alpha-one", NULL), b = nefele_register("#4242", NULL), c = nefele_register("beta", NULL);
            printf("register %d %d %d\n", a, b, c);
            int bad = nefele_register(me.id, NULL); /* a name never has the shape of an NPID */
            printf("bad rc=%d error=%s\n", bad, nefele_last_error());
            print_names("alpha", "alpha");
            print_names("all", NULL);
            int rc = nefele_unregister("alpha-one", NULL);
            int again = nefele_unregister("alpha-one", NULL);
            printf("unregister %d %d\n", rc, again);
            print_names("after", "alpha");
            return 0;
        }

        int main(int argc, char **argv) {
            setvbuf(stdout, NULL, _IOLBF, 0);
            const char *mode = argc > 1 ? argv[1] : "";
            if (strcmp(mode, "pong") == 0 && argc > 2) return pong(argv[2]);
            if (strcmp(mode, "ping") == 0 && argc > 3) return ping(argv[2], atoi(argv[3]));
            if (strcmp(mode, "timeouts") == 0) return timeouts();
            if (strcmp(mode, "pollfd") == 0) return pollfd();
            if (strcmp(mode, "sub") == 0 && argc > 2) return sub(argv[2]);
            if (strcmp(mode, "pub") == 0 && argc > 3) return pub(argv[2], (size_t)atoi(argv[3]));
            if (strcmp(mode, "names") == 0) return names();
            printf("unknown mode %s\n", mode);
            return 2;
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-capi-messaging-");

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Two_C_processes_ping_pong_by_name_in_order_the_pinger_waiting_for_the_name_first()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-msg-name");

        // The pinger starts first: nefele_wait holds it until the ponger registers the name.
        var pinger = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["ping", "echo-service", "5"] });
        var ponger = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["pong", "echo-service"] });
        try
        {
            var ping = await OutputAfterEndAsync(tenant, pinger);
            var pong = await OutputAfterEndAsync(tenant, ponger);

            Assert.Contains("registered echo-service holders=1", pong, StringComparison.Ordinal);
            Assert.Contains("waited holders=1", ping, StringComparison.Ordinal);
            var replies = Lines(ping, "reply ");
            Assert.Equal([.. Enumerable.Range(1, 5).Select(i => $"reply pong:{i} tag=pong seq={i}")], replies);
            Assert.Contains("done", ping, StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, pinger, ponger);
        }
    }

    [Fact]
    public async Task Two_C_processes_ping_pong_by_NPID()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-msg-npid");
        var ponger = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["pong", "by-npid"] });
        var pinger = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["ping", ponger, "3"] });
        try
        {
            var ping = await OutputAfterEndAsync(tenant, pinger);
            Assert.Equal(["reply pong:1 tag=pong seq=1", "reply pong:2 tag=pong seq=2", "reply pong:3 tag=pong seq=3"], Lines(ping, "reply "));
            await tenant.WaitAsync(ponger).WaitAsync(Cleanup.Wait);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, pinger, ponger);
        }
    }

    [Fact]
    public async Task A_receive_or_a_name_wait_with_nothing_to_get_times_out_and_a_name_nobody_holds_is_EADDRNOTAVAIL()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-msg-timeouts");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["timeouts"] });
        var output = await OutputAfterEndAsync(tenant, npid);

        Assert.StartsWith($"recv rc={-ETIMEDOUT} error=timed_out", Line(output, "recv "), StringComparison.Ordinal);
        Assert.StartsWith($"wait rc={-ETIMEDOUT} error=timed_out", Line(output, "wait "), StringComparison.Ordinal);
        Assert.StartsWith($"send rc={-EADDRNOTAVAIL} error=name_not_found", Line(output, "send "), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pollable_receive_becomes_readable_when_a_message_arrives()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-msg-poll");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["pollfd"] });
        var output = await OutputAfterEndAsync(tenant, npid);

        Assert.Equal("before 0", Line(output, "before "));
        Assert.Equal("after 1", Line(output, "after "));
        Assert.Equal("got knock from-self=1", Line(output, "got "));
    }

    [Fact]
    public async Task A_publish_reaches_every_subscriber_of_the_topic()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-msg-pubsub");
        var subscribers = new[]
        {
            await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["sub", "headlines"] }),
            await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["sub", "headlines"] }),
        };
        var publisher = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["pub", "headlines", "2"] });
        try
        {
            Assert.Equal("delivered 2", Line(await OutputAfterEndAsync(tenant, publisher), "delivered "));
            foreach (var subscriber in subscribers)
            {
                Assert.Equal("got extra to=headlines", Line(await OutputAfterEndAsync(tenant, subscriber), "got "));
            }
        }
        finally
        {
            await Cleanup.KillAsync(tenant, [.. subscribers, publisher]);
        }
    }

    [Fact]
    public async Task Names_are_listed_with_their_holder_and_node_and_go_when_unregistered()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-msg-names");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["names"] });
        var output = await OutputAfterEndAsync(tenant, npid);

        Assert.Equal($"self {npid}", Line(output, "self "));
        Assert.Equal("register 1 1 1", Line(output, "register "));
        Assert.StartsWith("bad rc=-22 error=bad_request", Line(output, "bad "), StringComparison.Ordinal);
        Assert.Equal($"alpha rc=0 count=1 alpha-one:1:{npid}:{Node.Name}", Line(output, "alpha "));
        var all = Line(output, "all ");
        Assert.StartsWith("all rc=0 count=3 ", all, StringComparison.Ordinal);
        Assert.Contains($"#4242:1:{npid}:", all, StringComparison.Ordinal);
        Assert.Contains($"beta:1:{npid}:", all, StringComparison.Ordinal);
        Assert.Equal($"unregister 0 {-EADDRNOTAVAIL}", Line(output, "unregister "));
        Assert.Equal("after rc=0 count=0", Line(output, "after "));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<string> BinaryAsync() => LibnefeleProgram.CompileAsync(_dir, "messaging", Program);

    /// <summary>Waits for the process to end, then returns everything it wrote.</summary>
    internal static async Task<string> OutputAfterEndAsync(NefeleTenant tenant, string npid)
    {
        var end = await tenant.WaitAsync(npid).WaitAsync(Cleanup.Wait);
        var text = new StringBuilder();
        await foreach (var chunk in tenant.LogsAsync(npid, follow: false))
        {
            text.Append(Encoding.UTF8.GetString(chunk));
        }

        Assert.True(end.ExitCode == 0, $"{npid} ended {end.State} {end.ExitCode}:\n{text}");
        return text.ToString();
    }

    internal static string[] Lines(string output, string prefix) =>
        [.. output.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal))];

    internal static string Line(string output, string prefix) =>
        Lines(output, prefix).SingleOrDefault() ?? throw new Xunit.Sdk.XunitException($"no line starting '{prefix}' in:\n{output}");
}
