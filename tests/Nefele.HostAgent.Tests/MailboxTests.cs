using Google.Protobuf;
using Nefele.Protocol.V1;
using Nefele.Validation;

namespace Nefele.HostAgent.Tests;

/// <summary>Mailboxes on one node: delivery, receive, bounds, pending mailboxes, drops, order.</summary>
public sealed class MailboxTests : AttachedHostdTests
{
    [Fact]
    public async Task A_message_to_a_local_npid_arrives_with_its_sender_tag_and_a_sequence_per_pair()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal(1u, await a.SendOkAsync(b.Npid, "hello", "greeting"));
        Assert.Equal(1u, await a.SendOkAsync(b.Npid, "again"));
        Assert.Equal(1u, await b.SendOkAsync(b.Npid, "self"));

        var first = await b.ReceiveAsync();
        Assert.Equal(ProcResponse.BodyOneofCase.Receive, first.BodyCase);
        Assert.Equal(2u, first.Receive.Remaining);
        var m = first.Receive.Message;
        Assert.Equal(a.Npid, m.From);
        Assert.Equal(b.Npid, m.To);
        Assert.Equal("greeting", m.Tag);
        Assert.Equal("hello", m.Data.ToStringUtf8());
        Assert.Equal(1ul, m.Seq);
        Assert.InRange(m.SentUnixMs, before - 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);

        var second = await b.ReceiveMessageAsync();
        Assert.Equal(("again", "", 2ul), (second.Data.ToStringUtf8(), second.Tag, second.Seq));

        // Sequence numbers count per sender: b's own message is b's first to itself.
        var third = await b.ReceiveMessageAsync();
        Assert.Equal((b.Npid, 1ul), (third.From, third.Seq));
        Assert.DoesNotContain(Silo.All, ev => ev.MessageOut is not null);
    }

    [Fact]
    public async Task A_waiting_receive_gets_the_next_message_and_does_not_hold_up_other_calls_on_its_connection()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var request = new ProcRequest { Receive = new ReceiveRequest { TimeoutMs = 10_000 } };
        var receive = b.Begin(request);
        await b.WriteAsync(Nefele.Protocol.FrameCodec.Encode(request));

        // The receive waits; a call behind it on the same connection is answered meanwhile.
        var self = await b.CallAsync(new ProcRequest { Self = new SelfRequest() });
        Assert.Equal(b.Npid, self.Self.Npid);
        Assert.False(receive.IsCompleted);

        Assert.Equal(1u, await a.SendOkAsync(b.Npid, "wake"));
        var answer = await receive.WaitAsync(SiloConnection.Timeout);
        Assert.Equal("wake", answer.Receive.Message.Data.ToStringUtf8());
        Assert.Equal(0u, answer.Receive.Remaining);
    }

    [Fact]
    public async Task A_receive_with_nothing_to_take_is_timed_out()
    {
        await using var b = await ApiPeer.StartAsync(Silo);
        var now = await b.ReceiveAsync(timeoutMs: 0);
        Assert.Equal(Client.ErrorCodes.TimedOut, now.Error?.Code);

        var later = await b.ReceiveAsync(timeoutMs: 200);
        Assert.Equal(Client.ErrorCodes.TimedOut, later.Error?.Code);
        Assert.Contains("200 ms", later.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_selective_receive_takes_the_oldest_message_with_its_tag_and_leaves_the_others_in_order()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await a.SendOkAsync(b.Npid, "1", "x");
        await a.SendOkAsync(b.Npid, "2", "y");
        await a.SendOkAsync(b.Npid, "3", "x");
        await a.SendOkAsync(b.Npid, "4", "y");

        var y = await b.ReceiveMessageAsync(tag: "y");
        Assert.Equal(("2", 2ul), (y.Data.ToStringUtf8(), y.Seq));
        Assert.Equal("1", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal("3", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());

        // A receive waiting for one tag lets others pass and takes its own when it comes.
        var zRequest = new ProcRequest { Receive = new ReceiveRequest { TimeoutMs = 10_000, Tag = "z" } };
        var z = b.Begin(zRequest);
        await b.WriteAsync(Nefele.Protocol.FrameCodec.Encode(zRequest));
        await a.SendOkAsync(b.Npid, "5", "y");
        await a.SendOkAsync(b.Npid, "6", "z");
        Assert.Equal("6", (await z.WaitAsync(SiloConnection.Timeout)).Receive.Message.Data.ToStringUtf8());
        Assert.Equal("4", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal("5", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
    }

    [Fact]
    public async Task A_full_mailbox_refuses_at_once_when_the_sender_does_not_wait_by_messages_and_by_bytes()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var few = await ApiPeer.StartAsync(Silo, configure: s => s.MailboxMessages = 2);
        await using var small = await ApiPeer.StartAsync(Silo, configure: s => s.MailboxBytes = 10);

        await a.SendOkAsync(few.Npid, "1");
        await a.SendOkAsync(few.Npid, "2");
        var third = await a.SendAsync(few.Npid, "3");
        Assert.Equal(Client.ErrorCodes.MailboxFull, third.Error?.Code);
        Assert.Contains(few.Npid, third.Error!.Message, StringComparison.Ordinal);

        await a.SendOkAsync(small.Npid, "12345678");
        Assert.Equal(Client.ErrorCodes.MailboxFull, (await a.SendAsync(small.Npid, "123")).Error?.Code);
        await a.SendOkAsync(small.Npid, "12");

        // Never more than the bound: what was refused is not there.
        Assert.Equal(["1", "2"], [(await few.ReceiveMessageAsync()).Data.ToStringUtf8(), (await few.ReceiveMessageAsync()).Data.ToStringUtf8()]);
        Assert.Equal(Client.ErrorCodes.TimedOut, (await few.ReceiveAsync()).Error?.Code);
        var stats = await StatsAsync();
        Assert.Equal(2, stats.RefusedFullTotal);
    }

    [Fact]
    public async Task A_sender_waiting_for_room_is_let_in_when_the_receiver_takes_a_message()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo, configure: s => s.MailboxMessages = 1);
        await a.SendOkAsync(b.Npid, "first");
        var request = new ProcRequest { Send = ApiPeer.Message(b.Npid, "second", waitMs: 10_000) };
        var blocked = a.Begin(request);
        await a.WriteAsync(Nefele.Protocol.FrameCodec.Encode(request));

        // Still blocked while the mailbox is full (a later call on a's connection is answered first).
        Assert.Equal(a.Npid, (await a.CallAsync(new ProcRequest { Self = new SelfRequest() })).Self.Npid);
        Assert.False(blocked.IsCompleted);

        Assert.Equal("first", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
        var sent = await blocked.WaitAsync(SiloConnection.Timeout);
        Assert.Equal(1u, sent.Send?.Delivered);
        var second = await b.ReceiveMessageAsync();
        Assert.Equal(("second", 2ul), (second.Data.ToStringUtf8(), second.Seq));
    }

    [Fact]
    public async Task A_sender_waiting_for_room_that_never_comes_fails_with_mailbox_full()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo, configure: s => s.MailboxMessages = 1);
        await a.SendOkAsync(b.Npid, "first");
        var refused = await a.SendAsync(b.Npid, "second", waitMs: 200);
        Assert.Equal(Client.ErrorCodes.MailboxFull, refused.Error?.Code);
        Assert.Contains("200 ms", refused.Error!.Message, StringComparison.Ordinal);
        Assert.Equal("first", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal(Client.ErrorCodes.TimedOut, (await b.ReceiveAsync()).Error?.Code);
    }

    [Theory]
    [InlineData(Limits.MaxMailboxMessages + 1, 0, "mailbox_messages")]
    [InlineData(-1, 0, "mailbox_messages")]
    [InlineData(0, Limits.MaxMailboxBytes + 1, "mailbox_bytes")]
    [InlineData(0, -5, "mailbox_bytes")]
    public async Task Mailbox_bounds_out_of_range_reject_the_launch_naming_the_field(int messages, long bytes, string field)
    {
        var npid = ApiPeer.NewNpid();
        var reply = await Silo.LaunchAsync(npid, new ProcessSpec { Path = "/bin/true", MailboxMessages = messages, MailboxBytes = bytes });
        Assert.Equal(LaunchReply.OutcomeOneofCase.Rejected, reply.OutcomeCase);
        Assert.Equal(Client.ErrorCodes.BadRequest, reply.Rejected.Code);
        Assert.Contains(field, reply.Rejected.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await StatsAsync()).Mailboxes);
    }

    [Fact]
    public async Task Messages_delivered_before_the_process_is_launched_wait_for_it()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var npid = ApiPeer.NewNpid();
        var early = await DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { npid }, Create = true, Message = Remote("early", "edge") });
        Assert.Equal(1u, early.Delivered);
        Assert.Empty(early.Failures);
        Assert.Equal(1u, (await DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { npid }, Create = true, Message = Remote("second", "edge") })).Delivered);

        // A process sends to it locally before it runs, too.
        Assert.Equal(1u, await a.SendOkAsync(npid, "local"));

        await using var late = await ApiPeer.StartAsync(Silo, npid);
        Assert.Equal(["early", "second", "local"], await ReceiveAllAsync(late, 3));
    }

    [Fact]
    public async Task A_delivery_to_a_mailbox_this_node_does_not_hold_fails_for_that_target_alone()
    {
        await using var b = await ApiPeer.StartAsync(Silo);
        var unknown = ApiPeer.NewNpid();
        var reply = await DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { b.Npid, unknown }, Message = Remote("x", "y") });
        Assert.Equal(1u, reply.Delivered);
        var failure = Assert.Single(reply.Failures);
        Assert.Equal((unknown, Client.ErrorCodes.NpidNotFound), (failure.Target, failure.Error.Code));

        // Another tenant's process looks exactly like an unknown one.
        var other = await DeliverAsync(new DeliverRequest { Tenant = "globex", Targets = { b.Npid }, Message = Remote("x", "y") });
        Assert.Equal(0u, other.Delivered);
        Assert.Equal(Client.ErrorCodes.NpidNotFound, Assert.Single(other.Failures).Error.Code);
        Assert.Equal("x", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal(Client.ErrorCodes.TimedOut, (await b.ReceiveAsync()).Error?.Code);
    }

    [Fact]
    public async Task A_delivery_to_a_full_mailbox_fails_with_mailbox_full_or_waits_for_room()
    {
        await using var b = await ApiPeer.StartAsync(Silo, configure: s => s.MailboxMessages = 1);
        Assert.Equal(1u, (await DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { b.Npid }, Message = Remote("1", "far") })).Delivered);
        var full = await DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { b.Npid }, Message = Remote("2", "far") });
        Assert.Equal((b.Npid, Client.ErrorCodes.MailboxFull), (Assert.Single(full.Failures).Target, full.Failures[0].Error.Code));

        var waiting = DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { b.Npid }, Message = Remote("3", "far"), WaitMs = 10_000 });
        Assert.Equal("1", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal(1u, (await waiting).Delivered);
        var third = await b.ReceiveMessageAsync();
        Assert.Equal(("3", 2ul), (third.Data.ToStringUtf8(), third.Seq));
    }

    [Fact]
    public async Task Queued_messages_are_dropped_and_counted_when_the_process_ends_and_later_acknowledged_sends_are_not_running()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var b = await ApiPeer.StartAsync(Silo);
        await a.SendOkAsync(b.Npid, "1");
        await a.SendOkAsync(b.Npid, "22");
        await a.SendOkAsync(b.Npid, "333");
        var before = await StatsAsync();
        Assert.Equal((2, 3L, 6L, 0L), (before.Mailboxes, before.QueuedMessages, before.QueuedBytes, before.DroppedTotal));

        await b.DisposeAsync();
        var after = await StatsAsync();
        Assert.Equal((1, 0L, 0L, 3L), (after.Mailboxes, after.QueuedMessages, after.QueuedBytes, after.DroppedTotal));
        Assert.Equal(3, after.DeliveredTotal);

        var late = await a.SendAsync(b.Npid, "late", ack: true);
        Assert.Equal(Client.ErrorCodes.NotRunning, late.Error?.Code);

        // At most once: an unacknowledged send to it reaches nobody, and nothing goes to the silo.
        Assert.Equal(0u, await a.SendOkAsync(b.Npid, "unacked"));
        Assert.DoesNotContain(Silo.All, ev => ev.MessageOut is not null);
        var delivery = await DeliverAsync(new DeliverRequest { Tenant = "acme", Targets = { b.Npid }, Create = true, Message = Remote("x", "far") });
        Assert.Equal(Client.ErrorCodes.NotRunning, Assert.Single(delivery.Failures).Error.Code);
    }

    [Fact]
    public async Task Order_per_sender_and_receiver_holds_with_several_senders_at_once()
    {
        const int PerSender = 300;
        await using var b = await ApiPeer.StartAsync(Silo);
        var senders = new List<ApiPeer>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                senders.Add(await ApiPeer.StartAsync(Silo));
            }

            // Each sender writes all its sends at once (pipelined), the three side by side.
            await Task.WhenAll(senders.Select(async s =>
            {
                var requests = Enumerable.Range(1, PerSender).Select(n => new ProcRequest { Send = ApiPeer.Message(b.Npid, n.ToString(System.Globalization.CultureInfo.InvariantCulture)) }).ToList();
                var answers = requests.Select(s.Begin).ToList();
                await s.WriteAsync([.. requests.SelectMany(r => Nefele.Protocol.FrameCodec.Encode(r))]);
                foreach (var answer in answers)
                {
                    Assert.Equal(1u, (await answer.WaitAsync(SiloConnection.Timeout)).Send?.Delivered);
                }
            }));

            var seen = senders.ToDictionary(s => s.Npid, _ => 0);
            for (var i = 0; i < 3 * PerSender; i++)
            {
                var m = await b.ReceiveMessageAsync();
                var n = int.Parse(m.Data.ToStringUtf8(), System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(seen[m.From] + 1, n);
                Assert.Equal((ulong)n, m.Seq);
                seen[m.From] = n;
            }

            Assert.All(seen.Values, n => Assert.Equal(PerSender, n));
        }
        finally
        {
            foreach (var s in senders)
            {
                await s.DisposeAsync();
            }
        }
    }

    private static Message Remote(string data, string from) =>
        new() { From = from, To = "far", Data = ByteString.CopyFromUtf8(data), SentUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() };

    private async Task<DeliverReply> DeliverAsync(DeliverRequest request)
    {
        var ev = await Silo.RequestAsync(new ControlRequest { Deliver = request });
        Assert.True(ev.BodyCase == ControlEvent.BodyOneofCase.Delivered, $"expected delivered, got {ev}");
        return ev.Delivered;
    }

    private async Task<MailboxStatsReply> StatsAsync() =>
        (await Silo.RequestAsync(new ControlRequest { MailboxStats = new MailboxStatsRequest() })).MailboxStats;

    private static async Task<List<string>> ReceiveAllAsync(ApiPeer peer, int count)
    {
        var got = new List<string>();
        for (var i = 0; i < count; i++)
        {
            got.Add((await peer.ReceiveMessageAsync()).Data.ToStringUtf8());
        }

        return got;
    }
}
