using System.Buffers.Binary;
using Google.Protobuf;
using Nefele.Protocol.V1;
using Nefele.Validation;

namespace Nefele.HostAgent.Tests;

/// <summary>What the api socket refuses, with the code and the sentence naming what was wrong; and the calls it leaves to the silo.</summary>
public sealed class MessagingDoorTests : AttachedHostdTests
{
    public static TheoryData<string, SendRequest, string, string> BadSends => new()
    {
        { "oversized", new SendRequest { To = "svc", Data = ByteString.CopyFrom(new byte[Limits.MaxMessageBytes + 1]) }, Client.ErrorCodes.MessageTooLarge, $"{Limits.MaxMessageBytes + 1} bytes" },
        { "long tag", new SendRequest { To = "svc", Tag = new string('t', Limits.MaxMessageTagLength + 1) }, Client.ErrorCodes.BadRequest, "message tag" },
        { "control character in tag", new SendRequest { To = "svc", Tag = "a\nb" }, Client.ErrorCodes.BadRequest, "message tag" },
        { "bad destination", new SendRequest { To = "no such/name" }, Client.ErrorCodes.BadRequest, "destination 'no such/name'" },
        { "empty destination", new SendRequest { To = "" }, Client.ErrorCodes.BadRequest, "destination" },
        { "topic shaped like an npid", new SendRequest { To = "0123456789abc", Mode = DeliveryMode.Publish }, Client.ErrorCodes.BadRequest, "topic '0123456789abc'" },
        { "negative wait", new SendRequest { To = "svc", WaitMs = -1 }, Client.ErrorCodes.BadRequest, "wait_ms -1" },
        { "unknown mode", new SendRequest { To = "svc", Mode = (DeliveryMode)42 }, Client.ErrorCodes.BadRequest, "delivery mode 42" },
    };

    [Theory]
    [MemberData(nameof(BadSends))]
    public async Task A_bad_send_is_refused_naming_what_was_wrong_and_delivers_nothing(string what, SendRequest send, string code, string mentions)
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await PushNameAsync("svc", a.Npid);
        var answer = await a.CallAsync(new ProcRequest { Send = send });
        Assert.True(answer.Error?.Code == code, $"{what}: expected {code}, got {answer}");
        Assert.Contains(mentions, answer.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(Client.ErrorCodes.TimedOut, (await a.ReceiveAsync()).Error?.Code);
        Assert.DoesNotContain(Silo.All, ev => ev.MessageOut is not null);
    }

    [Fact]
    public async Task A_message_of_exactly_the_maximum_size_is_delivered()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var data = ByteString.CopyFrom(Enumerable.Range(0, Limits.MaxMessageBytes).Select(i => (byte)i).ToArray());
        var sent = await a.CallAsync(new ProcRequest { Send = new SendRequest { To = a.Npid, Data = data } });
        Assert.Equal(1u, sent.Send?.Delivered);
        Assert.Equal(data, (await a.ReceiveMessageAsync()).Data);
    }

    [Fact]
    public async Task Bad_receives_and_waits_are_refused()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var negative = await a.CallAsync(new ProcRequest { Receive = new ReceiveRequest { TimeoutMs = -5 } });
        Assert.Equal(Client.ErrorCodes.BadRequest, negative.Error?.Code);
        Assert.Contains("timeout_ms -5", negative.Error!.Message, StringComparison.Ordinal);
        var tag = await a.CallAsync(new ProcRequest { Receive = new ReceiveRequest { Tag = "\u00e9" } });
        Assert.Equal(Client.ErrorCodes.BadRequest, tag.Error?.Code);
        var name = await a.CallAsync(new ProcRequest { WaitName = new WaitNameRequest { Name = "0123456789abc" } });
        Assert.Equal(Client.ErrorCodes.BadRequest, name.Error?.Code);
        Assert.Contains("name '0123456789abc'", name.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_and_subscribe_go_to_the_silo_and_bad_ones_are_refused_at_the_door()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var register = a.CallAsync(new ProcRequest { Register = new RegisterRequest { Name = "webserver" } });
        var call = (await Silo.NextMatchingAsync(ev => ev.ProcCall is not null)).ProcCall;
        Assert.Equal((a.Npid, "acme", "webserver"), (call.CallerNpid, call.Tenant, call.Request.Register?.Name));
        await Silo.SendAsync(new ControlRequest
        {
            ProcReply = new ProcCallReply { CallId = call.CallId, Response = new ProcResponse { Register = new RegisterReply { Npids = { a.Npid } } } },
        });
        Assert.Equal([a.Npid], (await register).Register.Npids);

        var subscribe = a.CallAsync(new ProcRequest { Subscribe = new SubscribeRequest { Topic = "news" } });
        var sub = (await Silo.NextMatchingAsync(ev => ev.ProcCall is not null)).ProcCall;
        Assert.Equal("news", sub.Request.Subscribe?.Topic);
        await Silo.SendAsync(new ControlRequest { ProcReply = new ProcCallReply { CallId = sub.CallId, Response = new ProcResponse { Subscribe = new SubscribeReply() } } });
        Assert.Equal(ProcResponse.BodyOneofCase.Subscribe, (await subscribe).BodyCase);

        var badName = await a.CallAsync(new ProcRequest { Register = new RegisterRequest { Name = "bad name" } });
        Assert.Equal(Client.ErrorCodes.BadRequest, badName.Error?.Code);
        Assert.Contains("name 'bad name'", badName.Error!.Message, StringComparison.Ordinal);
        var badNpid = await a.CallAsync(new ProcRequest { Unregister = new UnregisterRequest { Name = "web", Npid = "nope" } });
        Assert.Contains("npid 'nope'", badNpid.Error?.Message, StringComparison.Ordinal);
        var badTopic = await a.CallAsync(new ProcRequest { Unsubscribe = new UnsubscribeRequest { Topic = "#x" } });
        Assert.Contains("topic '#x'", badTopic.Error?.Message, StringComparison.Ordinal);
        Assert.Equal(2, Silo.All.Count(ev => ev.ProcCall is not null));
    }

    [Fact]
    public async Task A_bad_frame_is_answered_with_bad_frame_and_closes_only_that_connection()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var pending = a.Begin(new ProcRequest());
        var garbage = new byte[] { 0, 0, 0, 3, 0xff, 0xff, 0xff };
        await a.WriteAsync(garbage);
        await Assert.ThrowsAsync<IOException>(() => pending.WaitAsync(SiloConnection.Timeout));
        var answer = Assert.Single(a.Unexpected);
        Assert.Equal(Client.ErrorCodes.BadFrame, answer.Error?.Code);

        // A frame longer than the largest allowed is refused before it is read.
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, uint.MaxValue);
        var pendingB = b.Begin(new ProcRequest());
        await b.WriteAsync(header);
        await Assert.ThrowsAsync<IOException>(() => pendingB.WaitAsync(SiloConnection.Timeout));
        Assert.Equal(Client.ErrorCodes.BadFrame, Assert.Single(b.Unexpected).Error?.Code);
    }

    private async Task PushNameAsync(string name, string npid)
    {
        var ev = await Silo.RequestAsync(new ControlRequest
        {
            Names = new NameTableUpdate { Tenant = "acme", Version = 1, Names = { new NameEntry { Name = name, Holders = { new NameHolder { Npid = npid, Node = Hostd.Node } } } } },
        });
        Assert.Equal(ControlEvent.BodyOneofCase.Ok, ev.BodyCase);
    }
}
