using System.Text;
using Google.Protobuf;
using Nefele.Protocol.V1;

namespace Nefele.Cli.Tests;

/// <summary>nef's messaging commands inside a Nefele process: what goes over hostd's socket, what is printed, and the exit status.</summary>
public sealed class MessagingCommandTests
{
    private const string A = "0123456789abc";

    private static Dictionary<string, string?> Env(FakeApiSocket socket) => new() { ["NEFELE_SOCKET"] = socket.Path };

    [Fact]
    public async Task Send_carries_stdin_tag_mode_ack_and_wait_and_prints_the_mailboxes_reached()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse { Send = new SendReply { Delivered = 3 } }));

        var run = await NefRun.RunAsync(Env(socket), new StringWriter(), Encoding.UTF8.GetBytes("hello\n"),
            "send", "webserver", "--tag", "greeting", "--mode", "all", "--ack", "--wait", "1500ms");

        Assert.Equal((0, "3\n", string.Empty), (run.Status, run.Out, run.Err));
        var send = Assert.Single(socket.Requests).Send;
        Assert.Equal(("webserver", "greeting", "hello\n", DeliveryMode.All, true, 1500), (send.To, send.Tag, send.Data.ToStringUtf8(), send.Mode, send.Ack, send.WaitMs));
    }

    [Fact]
    public async Task Publish_sends_to_the_topic_in_publish_mode()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse { Send = new SendReply { Delivered = 0 } }));

        var run = await NefRun.RunAsync(Env(socket), new StringWriter(), [1, 2, 3], "publish", "headlines");

        Assert.Equal((0, "0\n"), (run.Status, run.Out));
        var send = Assert.Single(socket.Requests).Send;
        Assert.Equal(("headlines", DeliveryMode.Publish, 3), (send.To, send.Mode, send.Data.Length));
    }

    [Theory]
    [InlineData("send", "01J0000000000", "--mode", "sideways")]
    [InlineData("send", "not a name")]
    [InlineData("send", "web", "--tag", "tab\there")]
    [InlineData("send", "web", "--wait", "11s")]
    [InlineData("register", "0123456789abc")]
    [InlineData("wait", "web", "--timeout", "soon")]
    [InlineData("subscribe", "#x")]
    [InlineData("recv", "extra")]
    [InlineData("send")]
    public async Task Bad_input_is_a_usage_error_and_nothing_is_sent(params string[] args)
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse { Send = new SendReply() }));

        var run = await NefRun.RunAsync(Env(socket), new StringWriter(), [], args);

        Assert.Equal(2, run.Status);
        Assert.StartsWith("nef: ", run.Err, StringComparison.Ordinal);
        Assert.Empty(socket.Requests);
    }

    [Fact]
    public async Task Stdin_over_one_message_is_refused_before_anything_is_sent()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse { Send = new SendReply { Delivered = 1 } }));

        var run = await NefRun.RunAsync(Env(socket), new StringWriter(), new byte[(1 << 20) + 1], "send", A);

        Assert.Equal(1, run.Status);
        Assert.StartsWith("nef: message too large: standard input holds more than 1048576 bytes", run.Err, StringComparison.Ordinal);
        Assert.Empty(socket.Requests);
    }

    [Fact]
    public async Task Recv_prints_the_message_bytes_as_they_are()
    {
        var bytes = new byte[] { 0, 1, 2, 255, (byte)'\n' };
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse
        {
            Receive = new ReceiveReply { Message = new Message { From = A, To = "x", Data = ByteString.CopyFrom(bytes), Seq = 1 } },
        }));

        var run = await NefRun.RunAsync(Env(socket), new StringWriter(), [], "recv", "--timeout", "2s", "--tag", "job");

        Assert.Equal(0, run.Status);
        Assert.Equal(Encoding.UTF8.GetString(bytes), run.Out);
        var receive = Assert.Single(socket.Requests).Receive;
        Assert.Equal((2000, "job"), (receive.TimeoutMs, receive.Tag));
    }

    [Fact]
    public async Task Recv_with_nothing_in_time_exits_124()
    {
        await using var socket = new FakeApiSocket(_ => Task.FromResult(new ProcResponse
        {
            Error = new Error { Code = "timed_out", Message = "no message came within 0 ms" },
        }));

        var run = await NefRun.RunAsync(Env(socket), new StringWriter(), [], "recv", "--timeout", "0");

        Assert.Equal((124, string.Empty), (run.Status, run.Out));
        Assert.StartsWith("nef: timed out: no message came within 0s", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_unregister_subscribe_send_the_caller_or_the_npid_given()
    {
        await using var socket = new FakeApiSocket(r => Task.FromResult(r.BodyCase switch
        {
            ProcRequest.BodyOneofCase.Register => new ProcResponse { Register = new RegisterReply { Npids = { A } } },
            ProcRequest.BodyOneofCase.Unregister => new ProcResponse { Unregister = new UnregisterReply() },
            ProcRequest.BodyOneofCase.Subscribe => new ProcResponse { Subscribe = new SubscribeReply() },
            _ => new ProcResponse { Unsubscribe = new UnsubscribeReply() },
        }));

        Assert.Equal(0, (await NefRun.RunAsync(Env(socket), "register", "#80")).Status);
        Assert.Equal(0, (await NefRun.RunAsync(Env(socket), "unregister", "web", "--npid", A)).Status);
        Assert.Equal(0, (await NefRun.RunAsync(Env(socket), "subscribe", "news")).Status);
        Assert.Equal(0, (await NefRun.RunAsync(Env(socket), "unsubscribe", "news", "--npid", A)).Status);

        var requests = socket.Requests.ToArray();
        Assert.Equal(("#80", string.Empty), (requests[0].Register.Name, requests[0].Register.Npid));
        Assert.Equal(("web", A), (requests[1].Unregister.Name, requests[1].Unregister.Npid));
        Assert.Equal(("news", string.Empty), (requests[2].Subscribe.Topic, requests[2].Subscribe.Npid));
        Assert.Equal(("news", A), (requests[3].Unsubscribe.Topic, requests[3].Unsubscribe.Npid));
    }

    [Fact]
    public async Task Wait_prints_the_holders_and_names_prints_a_row_per_holder()
    {
        await using var socket = new FakeApiSocket(r => Task.FromResult(r.BodyCase == ProcRequest.BodyOneofCase.WaitName
            ? new ProcResponse { WaitName = new WaitNameReply { Npids = { A, "0123456789abd" } } }
            : new ProcResponse
            {
                Names = new NamesReply
                {
                    Names =
                    {
                        new NameEntry { Name = "web", Holders = { new NameHolder { Npid = A, Node = "n1" }, new NameHolder { Npid = "0123456789abd", Node = "" } } },
                    },
                },
            }));

        var wait = await NefRun.RunAsync(Env(socket), "wait", "web", "--timeout", "3s");
        var names = await NefRun.RunAsync(Env(socket), "names", "--topics", "we");

        Assert.Equal((0, $"{A}\n0123456789abd\n"), (wait.Status, wait.Out));
        Assert.Equal(0, names.Status);
        Assert.Equal($"TOPIC  SUBSCRIBER     NODE\nweb    {A}  n1\nweb    0123456789abd  -\n", names.Out);
        var requests = socket.Requests.ToArray();
        Assert.Equal(("web", 3000), (requests[0].WaitName.Name, requests[0].WaitName.TimeoutMs));
        Assert.Equal(("we", true), (requests[1].Names.Prefix, requests[1].Names.Topics));
    }
}
