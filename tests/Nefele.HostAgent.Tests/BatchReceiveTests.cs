using System.Globalization;
using Google.Protobuf;
using Nefele.Protocol.V1;
using Nefele.Validation;

namespace Nefele.HostAgent.Tests;

/// <summary>Batch receives (ReceiveRequest.max_messages): several messages in one answer, in order, within the bounds.</summary>
public sealed class BatchReceiveTests : AttachedHostdTests
{
    [Fact]
    public async Task A_batch_receive_takes_up_to_its_max_oldest_first_with_its_tag_and_counts_what_remains()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        string[] tags = ["x", "y", "x", "x", "y"];
        for (var i = 0; i < tags.Length; i++)
        {
            await a.SendOkAsync(b.Npid, (i + 1).ToString(CultureInfo.InvariantCulture), tags[i]);
        }

        var xs = await ReceiveManyAsync(b, 2, "x");
        Assert.Equal(["1", "3"], Data(xs));
        Assert.Equal([1ul, 3ul], xs.Select(m => m.Seq));
        Assert.All(xs, m => Assert.Equal((a.Npid, "x"), (m.From, m.Tag)));

        var answer = await b.CallAsync(Receive(10));
        Assert.Equal(0u, answer.Receive.Remaining);
        Assert.Equal(["2", "4", "5"], Data(All(answer.Receive)));
        Assert.Equal(Client.ErrorCodes.TimedOut, (await b.ReceiveAsync()).Error?.Code);
    }

    [Fact]
    public async Task A_batch_receive_leaves_the_rest_queued_and_says_how_many()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        for (var i = 1; i <= 5; i++)
        {
            await a.SendOkAsync(b.Npid, i.ToString(CultureInfo.InvariantCulture));
        }

        var answer = await b.CallAsync(Receive(3));
        Assert.Equal(["1", "2", "3"], Data(All(answer.Receive)));
        Assert.Equal(2u, answer.Receive.Remaining);

        // One (0 or 1) is the receive of one message, as before batches.
        var one = await b.CallAsync(Receive(0));
        Assert.Equal(["4"], Data(All(one.Receive)));
        Assert.Equal(1u, one.Receive.Remaining);
    }

    [Fact]
    public async Task A_batch_receive_stops_before_the_data_after_its_first_message_passes_the_byte_bound()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var big = new string('m', Limits.MaxMessageBytes);
        var count = Limits.MaxReceiveBatchBytes / Limits.MaxMessageBytes + 2;
        for (var i = 0; i < count; i++)
        {
            await a.SendOkAsync(b.Npid, big);
        }

        // The first message, then as many whole ones as fit in the bound; the last stays queued.
        var answer = await b.CallAsync(Receive(100));
        var expected = 1 + (Limits.MaxReceiveBatchBytes / Limits.MaxMessageBytes);
        Assert.Equal(expected, All(answer.Receive).Count);
        Assert.Equal((uint)(count - expected), answer.Receive.Remaining);
        Assert.Equal(Limits.MaxMessageBytes, (await b.ReceiveMessageAsync()).Data.Length);
    }

    [Fact]
    public async Task A_batch_receive_larger_than_the_bound_is_served_up_to_the_bound()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var count = Limits.MaxReceiveBatch + 5;
        var requests = Enumerable.Range(1, count).Select(n => new ProcRequest { Send = ApiPeer.Message(b.Npid, n.ToString(CultureInfo.InvariantCulture)) }).ToList();
        var sent = requests.Select(a.Begin).ToList();
        await a.WriteAsync([.. requests.SelectMany(r => Nefele.Protocol.FrameCodec.Encode(r))]);
        foreach (var answer in sent)
        {
            Assert.Equal(1u, (await answer.WaitAsync(SiloConnection.Timeout)).Send?.Delivered);
        }

        var batch = await b.CallAsync(Receive(int.MaxValue));
        var got = All(batch.Receive);
        Assert.Equal(Limits.MaxReceiveBatch, got.Count);
        Assert.Equal(5u, batch.Receive.Remaining);
        Assert.Equal(Enumerable.Range(1, Limits.MaxReceiveBatch).Select(n => (ulong)n), got.Select(m => m.Seq));
    }

    [Fact]
    public async Task A_batch_receive_lets_in_the_senders_that_waited_for_room_in_their_order()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo, configure: s => s.MailboxMessages = 2);
        await a.SendOkAsync(b.Npid, "1");
        await a.SendOkAsync(b.Npid, "2");
        var third = new ProcRequest { Send = ApiPeer.Message(b.Npid, "3", waitMs: 10_000) };
        var fourth = new ProcRequest { Send = ApiPeer.Message(b.Npid, "4", waitMs: 10_000) };
        var waiting = new[] { a.Begin(third), a.Begin(fourth) };
        await a.WriteAsync([.. Nefele.Protocol.FrameCodec.Encode(third), .. Nefele.Protocol.FrameCodec.Encode(fourth)]);
        Assert.Equal(a.Npid, (await a.CallAsync(new ProcRequest { Self = new SelfRequest() })).Self.Npid);
        Assert.All(waiting, w => Assert.False(w.IsCompleted));

        Assert.Equal(["1", "2"], Data(await ReceiveManyAsync(b, 10)));
        foreach (var w in waiting)
        {
            Assert.Equal(1u, (await w.WaitAsync(SiloConnection.Timeout)).Send?.Delivered);
        }

        Assert.Equal(["3", "4"], Data(await ReceiveManyAsync(b, 10)));
    }

    [Fact]
    public async Task A_batch_receive_that_waits_gets_the_message_that_ends_its_wait()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var request = Receive(10, timeoutMs: 10_000);
        var waiting = b.Begin(request);
        await b.WriteAsync(Nefele.Protocol.FrameCodec.Encode(request));
        Assert.Equal(b.Npid, (await b.CallAsync(new ProcRequest { Self = new SelfRequest() })).Self.Npid);

        await a.SendOkAsync(b.Npid, "wake");
        var answer = await waiting.WaitAsync(SiloConnection.Timeout);
        Assert.Equal(["wake"], Data(All(answer.Receive)));
    }

    private static ProcRequest Receive(int max, string tag = "", int timeoutMs = 0) =>
        new() { Receive = new ReceiveRequest { MaxMessages = (uint)max, Tag = tag, TimeoutMs = timeoutMs } };

    private static async Task<List<Message>> ReceiveManyAsync(ApiPeer peer, int max, string tag = "")
    {
        var answer = await peer.CallAsync(Receive(max, tag, timeoutMs: 5000));
        Assert.True(answer.BodyCase == ProcResponse.BodyOneofCase.Receive, $"{peer.Npid} expected messages, got {answer}");
        return All(answer.Receive);
    }

    private static List<Message> All(ReceiveReply reply) => [reply.Message, .. reply.More];

    private static List<string> Data(IEnumerable<Message> messages) => [.. messages.Select(m => m.Data.ToStringUtf8())];
}
