using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Validation;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// Messages between programs outside the cluster (SDK mailboxes, REST keys' mailboxes) and to
/// processes, through a real node's silo: order, tags, bounds, acks, tenants, bad input.
/// </summary>
public sealed class MessagingTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Mailbox_receives_what_another_mailbox_sent_with_sender_tag_and_seq()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();
        await using var b = await t.OpenMailboxAsync();
        Assert.NotEqual(a.Address, b.Address);

        var delivered = await a.SendAsync(b.Address, "hello"u8.ToArray(), new SendOptions { Tag = "greeting", Ack = true }).WaitAsync(Bound);

        Assert.Equal(1, delivered);
        var m = await b.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound);
        Assert.Equal(a.Address, m.From);
        Assert.Equal(b.Address, m.To);
        Assert.Equal("greeting", m.Tag);
        Assert.Equal("hello", Encoding.UTF8.GetString(m.Data.Span));
        Assert.Equal(1UL, m.Seq);
    }

    [Fact]
    public async Task Messages_from_one_sender_arrive_in_send_order_without_ack()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();
        await using var b = await t.OpenMailboxAsync();
        const int count = 300;
        for (var i = 0; i < count; i++)
        {
            await a.SendAsync(b.Address, BitConverter.GetBytes(i)).WaitAsync(Bound);
        }

        for (var i = 0; i < count; i++)
        {
            var m = await b.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound);
            Assert.Equal(i, BitConverter.ToInt32(m.Data.Span));
            Assert.Equal((ulong)(i + 1), m.Seq);
        }
    }

    [Fact]
    public async Task Receive_with_a_tag_takes_the_oldest_with_that_tag_and_leaves_the_rest_in_order()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();
        await using var b = await t.OpenMailboxAsync();
        foreach (var (tag, body) in new[] { ("x", "1"), ("y", "2"), ("x", "3") })
        {
            await a.SendAsync(b.Address, Encoding.UTF8.GetBytes(body), new SendOptions { Tag = tag, Ack = true }).WaitAsync(Bound);
        }

        Assert.Equal("2", Encoding.UTF8.GetString((await b.ReceiveAsync(TimeSpan.Zero, "y").WaitAsync(Bound)).Data.Span));
        Assert.Equal("1", Encoding.UTF8.GetString((await b.ReceiveAsync(TimeSpan.Zero).WaitAsync(Bound)).Data.Span));
        Assert.Equal("3", Encoding.UTF8.GetString((await b.ReceiveAsync(TimeSpan.Zero).WaitAsync(Bound)).Data.Span));
    }

    [Fact]
    public async Task Receive_on_an_empty_mailbox_times_out_and_honours_cancellation()
    {
        var t = await Node.SdkAsync("msg");
        await using var b = await t.OpenMailboxAsync();

        var timedOut = await Assert.ThrowsAsync<NefeleException>(() => b.ReceiveAsync(TimeSpan.FromMilliseconds(200)).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.TimedOut, timedOut.Code);

        // A wait far longer than the bound, cancelled early: it ends with the cancellation, not the timeout.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b.ReceiveAsync(TimeSpan.FromMinutes(5), ct: cancel.Token).WaitAsync(Bound));
    }

    [Fact]
    public async Task ReadAll_streams_messages_until_cancelled()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();
        await using var b = await t.OpenMailboxAsync();
        for (var i = 0; i < 3; i++)
        {
            await a.SendAsync(b.Address, new[] { (byte)i }, new SendOptions { Ack = true }).WaitAsync(Bound);
        }

        using var stop = new CancellationTokenSource(Bound);
        var seen = new List<byte>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var m in b.ReadAllAsync(stop.Token))
            {
                seen.Add(m.Data.Span[0]);
                if (seen.Count == 3)
                {
                    await stop.CancelAsync();
                }
            }
        });
        Assert.Equal(new byte[] { 0, 1, 2 }, seen);
    }

    [Fact]
    public async Task A_full_mailbox_refuses_an_acked_send_with_mailbox_full_and_a_waiting_send_gets_in_when_room_is_made()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();
        await using var b = await t.OpenMailboxAsync();
        var big = new byte[Limits.MaxMessageBytes];

        // The byte bound (64 MiB) is reached by 64 messages of 1 MiB.
        var fit = (int)(Limits.DefaultMailboxBytes / big.Length);
        for (var i = 0; i < fit; i++)
        {
            Assert.Equal(1, await a.SendAsync(b.Address, big, new SendOptions { Ack = true }).WaitAsync(Bound));
        }

        var full = await Assert.ThrowsAsync<NefeleException>(() => a.SendAsync(b.Address, big, new SendOptions { Ack = true }).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.MailboxFull, full.Code);

        var waiting = a.SendAsync(b.Address, "late"u8.ToArray(), new SendOptions { Ack = true, Wait = TimeSpan.FromSeconds(10) });
        await b.ReceiveAsync(TimeSpan.Zero).WaitAsync(Bound);
        Assert.Equal(1, await waiting.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_disposed_mailbox_is_gone_for_senders()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();
        var b = await t.OpenMailboxAsync();
        await b.DisposeAsync();
        await b.DisposeAsync();

        var gone = await Assert.ThrowsAsync<NefeleException>(() => a.SendAsync(b.Address, "x"u8.ToArray(), new SendOptions { Ack = true }).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.NpidNotFound, gone.Code);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => b.ReceiveAsync(TimeSpan.Zero));
    }

    [Fact]
    public async Task Acked_sends_to_processes_that_ended_or_never_existed_say_so()
    {
        var t = await Node.SdkAsync("msg");
        var npid = await t.SpawnAsync(new ProcessSpec { Path = "/bin/true" }).WaitAsync(Bound);
        await t.WaitAsync(npid).WaitAsync(Bound);

        var ended = await Assert.ThrowsAsync<NefeleException>(() => t.SendAsync(npid, "x"u8.ToArray(), new SendOptions { Ack = true }).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.NotRunning, ended.Code);

        // Well formed, never made: generator 0 at the epoch.
        var unknown = await Assert.ThrowsAsync<NefeleException>(() => t.SendAsync("0000000000001", "x"u8.ToArray(), new SendOptions { Ack = true }).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.NpidNotFound, unknown.Code);
    }

    [Fact]
    public async Task Another_tenants_mailbox_and_process_do_not_exist_for_a_sender()
    {
        var a = await Node.SdkAsync("msg");
        var b = await Node.SdkAsync("msg-other");
        await using var mine = await a.OpenMailboxAsync();
        var npid = await a.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] }).WaitAsync(Bound);
        try
        {
            foreach (var target in new[] { mine.Address, npid })
            {
                var e = await Assert.ThrowsAsync<NefeleException>(() => b.SendAsync(target, "x"u8.ToArray(), new SendOptions { Ack = true }).WaitAsync(Bound));
                Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
            }

            // Nothing reached a's mailbox, and b cannot read it either.
            var empty = await Assert.ThrowsAsync<NefeleException>(() => mine.ReceiveAsync(TimeSpan.Zero).WaitAsync(Bound));
            Assert.Equal(ErrorCodes.TimedOut, empty.Code);
            using var http = await Node.Http.GetAsync("/v1/tenants/msg/mailbox").WaitAsync(Bound);
            Assert.Equal(HttpStatusCode.OK, http.StatusCode);
        }
        finally
        {
            await Cleanup.KillAsync(a, npid);
        }
    }

    [Fact]
    public async Task Bad_sends_are_refused_with_the_rule_they_broke()
    {
        var t = await Node.SdkAsync("msg");
        await using var a = await t.OpenMailboxAsync();

        var tooLarge = await Assert.ThrowsAsync<NefeleException>(() => t.SendAsync(a.Address, new byte[Limits.MaxMessageBytes + 1]));
        Assert.Equal(ErrorCodes.MessageTooLarge, tooLarge.Code);
        foreach (var (to, tag) in new[] { ("not a name", ""), ("-x", ""), (a.Address, new string('t', Limits.MaxMessageTagLength + 1)), (a.Address, "tab\t") })
        {
            var bad = await Assert.ThrowsAsync<NefeleException>(() => t.SendAsync(to, "x"u8.ToArray(), new SendOptions { Tag = tag }));
            Assert.Equal(ErrorCodes.BadRequest, bad.Code);
        }

        var wait = await Assert.ThrowsAsync<NefeleException>(() => t.SendAsync(a.Address, "x"u8.ToArray(), new SendOptions { Wait = TimeSpan.FromMinutes(1) }));
        Assert.Equal(ErrorCodes.BadRequest, wait.Code);
    }

    [Fact]
    public async Task A_name_nobody_holds_is_name_not_found()
    {
        var t = await Node.SdkAsync("msg");
        var e = await Assert.ThrowsAsync<NefeleException>(() => t.SendAsync("nobody-holds-this", "x"u8.ToArray()).WaitAsync(Bound));
        Assert.Equal(ErrorCodes.NameNotFound, e.Code);
    }

    [Fact]
    public async Task REST_caller_sends_from_its_own_stable_mailbox_and_receives_the_answer()
    {
        var t = await Node.SdkAsync("msg");
        await using var sdk = await t.OpenMailboxAsync();
        var key = await Node.CreateKeyAsync("msg", "rest-" + Guid.NewGuid().ToString("N")[..6]);
        using var http = new HttpClient { BaseAddress = new Uri(Node.ApiUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

        var mailbox = await http.GetFromJsonAsync<JsonElement>("/v1/tenants/msg/mailbox").WaitAsync(Bound);
        var address = mailbox.GetProperty("address").GetString()!;
        Assert.Equal(address, (await http.GetFromJsonAsync<JsonElement>("/v1/tenants/msg/mailbox").WaitAsync(Bound)).GetProperty("address").GetString());

        using var sent = await http.PostAsJsonAsync("/v1/tenants/msg/messages", new { to = sdk.Address, tag = "q", data = Convert.ToBase64String("ping"u8.ToArray()), ack = true }).WaitAsync(Bound);
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        Assert.Equal(1, (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("delivered").GetInt32());

        var ping = await sdk.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound);
        Assert.Equal(address, ping.From);
        await sdk.SendAsync(ping.From, "pong"u8.ToArray(), new SendOptions { Tag = "a", Ack = true }).WaitAsync(Bound);

        var answer = await http.GetFromJsonAsync<JsonElement>("/v1/tenants/msg/mailbox/messages?timeout=10s").WaitAsync(Bound);
        Assert.Equal(sdk.Address, answer.GetProperty("from").GetString());
        Assert.Equal("a", answer.GetProperty("tag").GetString());
        Assert.Equal("pong", Encoding.UTF8.GetString(Convert.FromBase64String(answer.GetProperty("data").GetString()!)));
        Assert.Equal(1UL, answer.GetProperty("seq").GetUInt64());
        Assert.Equal(0, answer.GetProperty("remaining").GetInt32());

        using var nothing = await http.GetAsync("/v1/tenants/msg/mailbox/messages?timeout=100ms").WaitAsync(Bound);
        await AssertProblem(nothing, HttpStatusCode.RequestTimeout, ErrorCodes.TimedOut);
    }

    [Fact]
    public async Task REST_refuses_bad_messaging_input_with_problem_details()
    {
        await Node.SdkAsync("msg");
        var cases = new (object Body, HttpStatusCode Status, string Code)[]
        {
            (new { to = "bad name", data = "eA==" }, HttpStatusCode.BadRequest, ErrorCodes.BadRequest),
            (new { to = "svc", data = "eA==", mode = "sometimes" }, HttpStatusCode.BadRequest, ErrorCodes.BadRequest),
            (new { to = "svc", data = "eA==", waitMs = 60_000 }, HttpStatusCode.BadRequest, ErrorCodes.BadRequest),
            (new { to = "svc", data = "eA==", tag = new string('t', 65) }, HttpStatusCode.BadRequest, ErrorCodes.BadRequest),
            (new { to = "svc" }, HttpStatusCode.BadRequest, ErrorCodes.InvalidJson),
        };
        foreach (var (body, status, code) in cases)
        {
            using var response = await Node.Http.PostAsJsonAsync("/v1/tenants/msg/messages", body).WaitAsync(Bound);
            await AssertProblem(response, status, code);
        }

        foreach (var query in new[] { "timeout=11s", "timeout=soon", "tag=%09" })
        {
            using var response = await Node.Http.GetAsync($"/v1/tenants/msg/mailbox/messages?{query}").WaitAsync(Bound);
            await AssertProblem(response, HttpStatusCode.BadRequest, ErrorCodes.BadRequest);
        }
    }

    private static async Task AssertProblem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {text}");
        using var problem = JsonDocument.Parse(text);
        Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
    }
}
