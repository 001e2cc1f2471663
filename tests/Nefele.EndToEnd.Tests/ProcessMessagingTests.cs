using System.Text;
using Nefele.Client;
using Nefele.Errors;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// An SDK mailbox and a real Nefele process (a C program on libnefele) talk through the node:
/// SDK → silo's router → the node mail grain → hostd → the process's mailbox, and back as
/// hostd's MessageOut → router → the SDK's mailbox grain.
/// </summary>
public sealed class ProcessMessagingTests(NodeFixture fixture) : IClassFixture<NodeFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Answers every message to its sender with the same tag and data, acknowledged; "stop" ends it.</summary>
    public const string EchoSource = """
        #include <nefele.h>
        #include <stdio.h>
        #include <string.h>
        int main(void) {
            for (;;) {
                nefele_msg m;
                int rc = nefele_recv(&m, -1, NULL);
                if (rc < 0) { fprintf(stderr, "recv: %d %s\n", rc, nefele_last_error()); return 2; }
                if (strcmp(m.tag, "stop") == 0) { nefele_msg_free(&m); return 0; }
                rc = nefele_message(m.from, m.tag, m.data, m.len, NEFELE_MSG_ACK, 10000);
                if (rc < 0) { fprintf(stderr, "send: %d %s\n", rc, nefele_last_error()); }
                nefele_msg_free(&m);
            }
        }
        """;

    private readonly string _dir = TestDirectory.Create("nefele-msg-");

    private NodeUnderTest Node => fixture.Node;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Process_answers_an_SDK_mailbox_in_order()
    {
        var echo = await LibnefeleProgram.CompileAsync(_dir, "echo", EchoSource);
        var t = await Node.SdkAsync("msg-proc");
        await using var mailbox = await t.OpenMailboxAsync();
        var npid = await t.SpawnAsync(new ProcessSpec { Path = echo }).WaitAsync(Bound);
        try
        {
            const int count = 50;
            for (var i = 0; i < count; i++)
            {
                try
                {
                    Assert.Equal(1, await mailbox.SendAsync(npid, Encoding.UTF8.GetBytes($"m{i}"), new SendOptions { Tag = "t" + (i % 3), Ack = true }).WaitAsync(Bound));
                }
                catch (NefeleException e)
                {
                    var logs = await t.ReadLogsAsync(npid);
                    Assert.Fail($"send {i} failed: {e.Code}: {e.Message}; the echo process wrote: {Encoding.UTF8.GetString(logs.Data)}");
                }
            }

            for (var i = 0; i < count; i++)
            {
                var m = await mailbox.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound);
                Assert.Equal(npid, m.From);
                Assert.Equal($"m{i}", Encoding.UTF8.GetString(m.Data.Span));
                Assert.Equal("t" + (i % 3), m.Tag);
                Assert.Equal((ulong)(i + 1), m.Seq);
            }

            await mailbox.SendAsync(npid, ReadOnlyMemory<byte>.Empty, new SendOptions { Tag = "stop", Ack = true }).WaitAsync(Bound);
            var end = await t.WaitAsync(npid).WaitAsync(Bound);
            Assert.Equal(0, end.ExitCode);
        }
        finally
        {
            await Cleanup.KillAsync(t, npid);
        }
    }

    [Fact]
    public async Task A_send_to_a_process_of_another_tenant_is_npid_not_found()
    {
        var echo = await LibnefeleProgram.CompileAsync(_dir, "echo", EchoSource);
        var a = await Node.SdkAsync("msg-proc");
        var b = await Node.SdkAsync("msg-proc-b");
        var npid = await a.SpawnAsync(new ProcessSpec { Path = echo }).WaitAsync(Bound);
        try
        {
            var e = await Assert.ThrowsAsync<NefeleException>(() => b.SendAsync(npid, "x"u8.ToArray(), new SendOptions { Ack = true }).WaitAsync(Bound));
            Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
        }
        finally
        {
            await Cleanup.KillAsync(a, npid);
        }
    }
}
