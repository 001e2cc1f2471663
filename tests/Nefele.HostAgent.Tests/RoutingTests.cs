using Google.Protobuf;
using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

/// <summary>
/// Destinations and patterns on one node, with the tenant's name table pushed by the test as the
/// name-service grains would: names (any, failover, all), broadcast, publish, and what goes up to
/// the silo for other nodes.
/// </summary>
public sealed class RoutingTests : AttachedHostdTests
{
    private ulong version;

    [Fact]
    public async Task Any_cast_to_a_name_takes_its_holders_in_turn()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await using var c = await ApiPeer.StartAsync(Silo);
        await using var d = await ApiPeer.StartAsync(Silo);
        await PushNamesAsync("acme", ("webserver", [b, c, d]));

        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(1u, await a.SendOkAsync("webserver", $"{i}", mode: i % 2 == 0 ? DeliveryMode.Any : DeliveryMode.Unspecified));
        }

        var turns = new Dictionary<string, List<int>>();
        foreach (var p in new[] { b, c, d })
        {
            turns[p.Npid] = [int.Parse((await p.ReceiveMessageAsync()).Data.ToStringUtf8(), System.Globalization.CultureInfo.InvariantCulture),
                int.Parse((await p.ReceiveMessageAsync()).Data.ToStringUtf8(), System.Globalization.CultureInfo.InvariantCulture)];
            Assert.Equal(Client.ErrorCodes.TimedOut, (await p.ReceiveAsync()).Error?.Code);
        }

        // Round-robin: each holder gets every third message.
        Assert.All(turns.Values, t => Assert.Equal(3, t[1] - t[0]));
        Assert.Equal(Enumerable.Range(0, 6), turns.Values.SelectMany(t => t).Order());
    }

    [Fact]
    public async Task Failover_goes_to_the_first_holder_and_to_the_next_once_it_has_ended()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var primary = await ApiPeer.StartAsync(Silo);
        await using var backup = await ApiPeer.StartAsync(Silo);
        await PushNamesAsync("acme", ("db", [primary, backup]));

        Assert.Equal(1u, await a.SendOkAsync("db", "1", mode: DeliveryMode.Failover));
        Assert.Equal(1u, await a.SendOkAsync("db", "2", mode: DeliveryMode.Failover));
        Assert.Equal("1", (await primary.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal("2", (await primary.ReceiveMessageAsync()).Data.ToStringUtf8());

        // The table still lists the primary (the name service has not removed it yet): hostd knows it ended.
        await primary.DisposeAsync();
        Assert.Equal(1u, await a.SendOkAsync("db", "3", mode: DeliveryMode.Failover, ack: true));
        Assert.Equal("3", (await backup.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.DoesNotContain(Silo.All, ev => ev.MessageOut is not null);
    }

    [Fact]
    public async Task All_puts_the_message_in_every_holders_mailbox()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await using var c = await ApiPeer.StartAsync(Silo);
        await PushNamesAsync("acme", ("group", [a, b, c]));

        Assert.Equal(3u, await a.SendOkAsync("group", "all", mode: DeliveryMode.All, ack: true));
        foreach (var p in new[] { a, b, c })
        {
            var m = await p.ReceiveMessageAsync();
            Assert.Equal((a.Npid, "group", "all"), (m.From, m.To, m.Data.ToStringUtf8()));
        }
    }

    [Fact]
    public async Task A_numeric_service_id_is_a_name_like_any_other()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await PushNamesAsync("acme", ("#80", [b]));
        Assert.Equal(1u, await a.SendOkAsync("#80", "GET /"));
        Assert.Equal("#80", (await b.ReceiveMessageAsync()).To);
    }

    [Fact]
    public async Task A_name_nobody_holds_is_name_not_found_and_the_table_of_another_tenant_is_not_consulted()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var x = await ApiPeer.StartAsync(Silo, tenant: "globex", uid: SiloConnection.TenantUid + 1);
        var none = await a.SendAsync("nobody", "x");
        Assert.Equal(Client.ErrorCodes.NameNotFound, none.Error?.Code);
        Assert.Contains("nobody", none.Error!.Message, StringComparison.Ordinal);

        await PushNamesAsync("acme", ("svc", [a]));
        Assert.Equal(Client.ErrorCodes.NameNotFound, (await x.SendAsync("svc", "x")).Error?.Code);
        Assert.Equal(Client.ErrorCodes.TimedOut, (await x.CallAsync(new ProcRequest { WaitName = new WaitNameRequest { Name = "svc" } })).Error?.Code);
        Assert.Empty((await x.CallAsync(new ProcRequest { Names = new NamesRequest() })).Names.Names);
    }

    [Fact]
    public async Task Broadcast_reaches_every_process_of_the_tenant_but_the_sender_and_goes_up_for_the_other_nodes()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await using var c = await ApiPeer.StartAsync(Silo);
        await using var x = await ApiPeer.StartAsync(Silo, tenant: "globex", uid: SiloConnection.TenantUid + 1);

        Assert.Equal(2u, await a.SendOkAsync("", "to all", mode: DeliveryMode.Broadcast));
        foreach (var p in new[] { b, c })
        {
            var m = await p.ReceiveMessageAsync();
            Assert.Equal((a.Npid, "*", "to all"), (m.From, m.To, m.Data.ToStringUtf8()));
        }

        Assert.Equal(Client.ErrorCodes.TimedOut, (await a.ReceiveAsync()).Error?.Code);
        Assert.Equal(Client.ErrorCodes.TimedOut, (await x.ReceiveAsync()).Error?.Code);
        var up = await Silo.NextMessageOutAsync();
        Assert.Equal((0ul, "acme", DeliveryMode.Broadcast, a.Npid, "to all"), (up.CallId, up.Tenant, up.Mode, up.Message.From, up.Message.Data.ToStringUtf8()));
        Assert.Empty(up.Targets);

        // The silo brings a broadcast from another node down: every process of the tenant but its sender.
        var down = await Silo.RequestAsync(new ControlRequest
        {
            Deliver = new DeliverRequest { Tenant = "acme", Broadcast = true, Message = new Message { From = b.Npid, To = "*", Data = ByteString.CopyFromUtf8("from afar") } },
        });
        Assert.Equal(2u, down.Delivered.Delivered);
        Assert.Equal("from afar", (await a.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal("from afar", (await c.ReceiveMessageAsync()).Data.ToStringUtf8());
        Assert.Equal(Client.ErrorCodes.TimedOut, (await b.ReceiveAsync()).Error?.Code);
    }

    [Fact]
    public async Task Publish_reaches_local_subscribers_directly_and_sends_the_others_up()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await using var c = await ApiPeer.StartAsync(Silo);
        var far = ApiPeer.NewNpid();
        await PushAsync(new NameTableUpdate
        {
            Tenant = "acme",
            Version = ++version,
            Topics =
            {
                new NameEntry { Name = "news", Holders = { new NameHolder { Npid = b.Npid, Node = Hostd.Node }, new NameHolder { Npid = far, Node = "elsewhere" } } },
            },
        });

        Assert.Equal(2u, await a.SendOkAsync("news", "extra", mode: DeliveryMode.Publish));
        var m = await b.ReceiveMessageAsync();
        Assert.Equal((a.Npid, "news"), (m.From, m.To));
        Assert.Equal(Client.ErrorCodes.TimedOut, (await c.ReceiveAsync()).Error?.Code);
        var up = await Silo.NextMessageOutAsync();
        Assert.Equal((DeliveryMode.Publish, far), (up.Mode, Assert.Single(up.Targets)));

        // A topic nobody subscribes to reaches nobody, which is not an error.
        Assert.Equal(0u, await a.SendOkAsync("quiet", "x", mode: DeliveryMode.Publish));

        // Names and topics are separate tables.
        Assert.Equal(Client.ErrorCodes.NameNotFound, (await a.SendAsync("news", "x")).Error?.Code);
    }

    [Fact]
    public async Task A_send_to_a_mailbox_elsewhere_goes_up_and_an_acknowledged_one_returns_the_silos_answer()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        var far = ApiPeer.NewNpid();

        Assert.Equal(1u, await a.SendOkAsync(far, "fire", "t"));
        var fire = await Silo.NextMessageOutAsync();
        Assert.Equal((0ul, "acme", far, "fire", "t", a.Npid), (fire.CallId, fire.Tenant, Assert.Single(fire.Targets), fire.Message.Data.ToStringUtf8(), fire.Message.Tag, fire.Message.From));

        var acked = a.SendAsync(far, "acked", ack: true);
        var call = await Silo.NextMessageOutAsync();
        Assert.NotEqual(0ul, call.CallId);
        Assert.True(call.Ack);
        Assert.False(acked.IsCompleted);
        await Silo.SendAsync(new ControlRequest { MessageOutReply = new MessageOutReply { CallId = call.CallId, Delivered = 1 } });
        Assert.Equal(1u, (await acked).Send?.Delivered);

        var refused = a.SendAsync(far, "again", ack: true);
        var second = await Silo.NextMessageOutAsync();
        await Silo.SendAsync(new ControlRequest
        {
            MessageOutReply = new MessageOutReply { CallId = second.CallId, Error = new Error { Code = Client.ErrorCodes.NpidNotFound, Message = $"no process {far} in this tenant" } },
        });
        var answer = await refused;
        Assert.Equal(Client.ErrorCodes.NpidNotFound, answer.Error?.Code);

        // Another tenant's local process is, to a sender, a process elsewhere: the silo decides.
        await using var x = await ApiPeer.StartAsync(Silo, tenant: "globex", uid: SiloConnection.TenantUid + 1);
        Assert.Equal(1u, await x.SendOkAsync(a.Npid, "sneak"));
        var sneak = await Silo.NextMessageOutAsync();
        Assert.Equal(("globex", a.Npid), (sneak.Tenant, Assert.Single(sneak.Targets)));
        Assert.Equal(Client.ErrorCodes.TimedOut, (await a.ReceiveAsync()).Error?.Code);
    }

    [Fact]
    public async Task Without_a_silo_a_send_elsewhere_is_control_plane_unavailable_and_local_sends_still_work()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var acked = a.SendAsync(ApiPeer.NewNpid(), "waits", ack: true);
        await Silo.NextMessageOutAsync();

        // The silo goes away: the send waiting on it fails, and sends that need it fail at once.
        var detached = await Hostd.ConnectAsync();
        ReplaceSilo(detached);
        await a.Silo.DisposeAsync();
        Assert.Equal(Client.ErrorCodes.ControlPlaneUnavailable, (await acked).Error?.Code);
        Assert.Equal(Client.ErrorCodes.ControlPlaneUnavailable, (await a.SendAsync(ApiPeer.NewNpid(), "x")).Error?.Code);
        Assert.Equal(Client.ErrorCodes.ControlPlaneUnavailable, (await a.SendAsync("", "x", mode: DeliveryMode.Broadcast)).Error?.Code);
        Assert.Equal(1u, await a.SendOkAsync(b.Npid, "here"));
        Assert.Equal("here", (await b.ReceiveMessageAsync()).Data.ToStringUtf8());

        // A new silo attaches (and the peers are ended through it).
        await detached.AttachAsync(Hostd.Node);
        a.Silo = b.Silo = detached;
    }

    [Fact]
    public async Task Wait_name_answers_when_a_table_brings_the_name_and_older_tables_are_ignored()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        var wait = a.CallAsync(new ProcRequest { WaitName = new WaitNameRequest { Name = "late", TimeoutMs = 10_000 } });
        await PushNamesAsync("acme", ("other", [b]));
        Assert.False(wait.IsCompleted);
        await PushNamesAsync("acme", ("late", [b, a]));
        Assert.Equal([b.Npid, a.Npid], (await wait).WaitName.Npids);

        // An older version changes nothing.
        await PushAsync(new NameTableUpdate { Tenant = "acme", Version = version - 1 });
        Assert.Equal([b.Npid, a.Npid], (await a.CallAsync(new ProcRequest { WaitName = new WaitNameRequest { Name = "late" } })).WaitName.Npids);

        var nobody = await a.CallAsync(new ProcRequest { WaitName = new WaitNameRequest { Name = "never", TimeoutMs = 200 } });
        Assert.Equal(Client.ErrorCodes.TimedOut, nobody.Error?.Code);
    }

    [Fact]
    public async Task Names_lists_the_tenants_names_or_topics_by_prefix_with_their_holders()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        await PushAsync(new NameTableUpdate
        {
            Tenant = "acme",
            Version = ++version,
            Names =
            {
                new NameEntry { Name = "web.b", Holders = { new NameHolder { Npid = b.Npid, Node = Hostd.Node } } },
                new NameEntry { Name = "web.a", Holders = { new NameHolder { Npid = a.Npid, Node = Hostd.Node }, new NameHolder { Npid = b.Npid, Node = Hostd.Node } } },
                new NameEntry { Name = "db", Holders = { new NameHolder { Npid = a.Npid, Node = Hostd.Node } } },
            },
            Topics = { new NameEntry { Name = "web.news", Holders = { new NameHolder { Npid = b.Npid, Node = Hostd.Node } } } },
        });

        var names = (await a.CallAsync(new ProcRequest { Names = new NamesRequest { Prefix = "web." } })).Names.Names;
        Assert.Equal(["web.a", "web.b"], names.Select(n => n.Name));
        Assert.Equal([a.Npid, b.Npid], names[0].Holders.Select(h => h.Npid));
        Assert.Equal(Hostd.Node, names[0].Holders[0].Node);
        Assert.Equal(3, (await a.CallAsync(new ProcRequest { Names = new NamesRequest() })).Names.Names.Count);
        var topics = (await a.CallAsync(new ProcRequest { Names = new NamesRequest { Topics = true } })).Names.Names;
        Assert.Equal("web.news", Assert.Single(topics).Name);
    }

    [Fact]
    public async Task A_bad_name_table_is_refused_and_changes_nothing()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await PushNamesAsync("acme", ("kept", [a]));
        var ev = await Silo.RequestAsync(new ControlRequest
        {
            Names = new NameTableUpdate { Tenant = "acme", Version = ++version, Names = { new NameEntry { Name = "not a name", Holders = { new NameHolder { Npid = a.Npid } } } } },
        });
        Assert.Equal(Client.ErrorCodes.BadRequest, ev.Error?.Code);
        Assert.Contains("not a name", ev.Error!.Message, StringComparison.Ordinal);
        Assert.Equal("kept", Assert.Single((await a.CallAsync(new ProcRequest { Names = new NamesRequest() })).Names.Names).Name);
    }

    private async Task PushNamesAsync(string tenant, params (string Name, ApiPeer[] Holders)[] names)
    {
        var update = new NameTableUpdate { Tenant = tenant, Version = ++version };
        foreach (var (name, holders) in names)
        {
            var entry = new NameEntry { Name = name };
            entry.Holders.AddRange(holders.Select(h => new NameHolder { Npid = h.Npid, Node = Hostd.Node }));
            update.Names.Add(entry);
        }

        await PushAsync(update);
    }

    private async Task PushAsync(NameTableUpdate update)
    {
        var ev = await Silo.RequestAsync(new ControlRequest { Names = update });
        Assert.True(ev.BodyCase == ControlEvent.BodyOneofCase.Ok, $"expected ok, got {ev}");
    }
}
