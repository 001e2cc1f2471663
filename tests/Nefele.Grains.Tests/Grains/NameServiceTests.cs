using Nefele.Client;
using Nefele.Errors;
using Nefele.Grains.Tests.Support;
using Nefele.Messaging;
using Nefele.Naming;
using Nefele.Processes;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Grains;

public class NameServiceTests(ClusterFixture cluster) : ClusterTest(cluster)
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep", Args = ["60"], CpuMillis = 10, MemoryBytes = 1L << 20 };

    private INameServiceGrain Service => Cluster.Client.GetGrain<INameServiceGrain>(Tenant.Name);

    [Fact]
    public async Task Holders_of_one_name_form_a_group_in_registration_order()
    {
        var npids = await Tenant.NSpawnAsync(3, Sleep);

        Assert.Equal([npids[0]], await Tenant.RegisterAsync("web", npids[0]));
        Assert.Equal([npids[0], npids[1]], await Tenant.RegisterAsync("web", npids[1]));
        Assert.Equal([npids[0], npids[1], npids[2]], await Tenant.RegisterAsync("web", npids[2]));

        // Again: no change, the order stays.
        Assert.Equal([npids[0], npids[1], npids[2]], await Tenant.RegisterAsync("web", npids[0]));

        await Tenant.UnregisterAsync("web", npids[1]);
        var entry = Assert.Single(await Tenant.ListNamesAsync());
        Assert.Equal("web", entry.Name);
        Assert.Equal([npids[0], npids[2]], entry.Holders.Select(h => h.Npid));
        Assert.All(entry.Holders, h => Assert.Equal(ClusterFixture.Node, h.Node));

        var missing = await Assert.ThrowsAsync<NefeleException>(() => Tenant.UnregisterAsync("web", npids[1]));
        Assert.Equal(ErrorCodes.NameNotFound, missing.Code);
    }

    [Fact]
    public async Task Service_ids_and_names_list_sorted_and_by_prefix()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("web.b", npid);
        await Tenant.RegisterAsync("#80", npid);
        await Tenant.RegisterAsync("web.a", npid);
        await Tenant.RegisterAsync("db", npid);

        Assert.Equal(["#80", "db", "web.a", "web.b"], (await Tenant.ListNamesAsync()).Select(e => e.Name));
        Assert.Equal(["web.a", "web.b"], (await Tenant.ListNamesAsync("web.")).Select(e => e.Name));
        Assert.Empty(await Tenant.ListTopicsAsync());
    }

    [Theory]
    [InlineData("")]
    [InlineData("-web")]
    [InlineData("web server")]
    [InlineData("#")]
    [InlineData("#1234567890")]
    [InlineData("#8a")]
    [InlineData("0000000000000")]
    public async Task Bad_names_are_refused_naming_the_rule_and_change_nothing(string name)
    {
        var npid = await Tenant.SpawnAsync(Sleep);

        // At the grain itself, as any door reaches it.
        var e = await Assert.ThrowsAsync<NefeleException>(() => Service.RegisterAsync(name, npid));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("not shaped like an NPID", e.Message, StringComparison.Ordinal);

        var topic = await Assert.ThrowsAsync<NefeleException>(() => Service.SubscribeAsync(name, npid));
        Assert.StartsWith("topic ", topic.Message, StringComparison.Ordinal);
        Assert.Empty(await Tenant.ListNamesAsync());
        Assert.Empty(await Tenant.ListTopicsAsync());
    }

    [Fact]
    public async Task A_holder_must_be_a_live_process_of_the_tenant()
    {
        var other = await Cluster.TenantAsync("o-" + Guid.NewGuid().ToString("N")[..8]);
        var theirs = await other.SpawnAsync(Sleep);
        var ended = await Tenant.SpawnAsync(Sleep);
        await Cluster.ExitAsync(ended);
        var unknown = new NpidGenerator(5, TimeProvider.System).Next();

        var foreign = await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("web", theirs));
        Assert.Equal(ErrorCodes.NpidNotFound, foreign.Code);
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("web", unknown))).Code);
        Assert.Equal(ErrorCodes.NotRunning, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("web", ended))).Code);
        Assert.Equal(ErrorCodes.BadRequest, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("web", "not-an-npid"))).Code);
        Assert.Empty(await Tenant.ListNamesAsync());
        await Cluster.ExitAsync(theirs);
    }

    [Fact]
    public async Task An_open_external_mailbox_may_hold_a_name_on_no_node_until_it_is_closed()
    {
        var mailbox = await Tenant.OpenMailboxAsync();

        await Tenant.RegisterAsync("inbox", mailbox.Address);
        await Tenant.SubscribeAsync("news", mailbox.Address);

        var holder = Assert.Single(await Tenant.WaitForNameAsync("inbox", TimeSpan.Zero));
        Assert.Equal(mailbox.Address, holder.Npid);
        Assert.Null(holder.Node);
        Assert.Equal(mailbox.Address, Assert.Single(Assert.Single(await Tenant.ListTopicsAsync()).Holders).Npid);

        await mailbox.DisposeAsync();

        Assert.Empty(await Tenant.ListNamesAsync());
        Assert.Empty(await Tenant.ListTopicsAsync());
    }

    [Fact]
    public async Task Only_an_open_mailbox_of_the_tenant_may_hold_a_name()
    {
        var other = await Cluster.TenantAsync("o-" + Guid.NewGuid().ToString("N")[..8]);
        var theirs = await other.OpenMailboxAsync();
        var closed = await Tenant.OpenMailboxAsync();
        await closed.DisposeAsync();
        var npid = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("inbox", npid);

        foreach (var address in new[] { MailboxAddress.NewRandom(), theirs.Address, closed.Address })
        {
            var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("inbox", address));
            Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
            Assert.Contains($"no open mailbox {address}", e.Message, StringComparison.Ordinal);
            Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.SubscribeAsync("news", address))).Code);
        }

        // Nothing changed: the name keeps its one holder, no topic was made, no table was pushed.
        var pushed = Cluster.Channel.NameTables.Count(t => t.Tenant == Tenant.Name);
        Assert.Equal([npid], Assert.Single(await Tenant.ListNamesAsync()).Holders.Select(h => h.Npid));
        Assert.Empty(await Tenant.ListTopicsAsync());
        Assert.Equal(pushed, Cluster.Channel.NameTables.Count(t => t.Tenant == Tenant.Name));
        await theirs.DisposeAsync();
    }

    [Fact]
    public async Task A_mailbox_opened_again_under_its_address_may_hold_names_again()
    {
        var address = (await Tenant.OpenMailboxAsync()).Address;
        var box = Cluster.Client.GetGrain<IMailboxGrain>(address);
        await Tenant.RegisterAsync("inbox", address);
        await box.CloseAsync(Tenant.Name);
        Assert.Empty(await Tenant.ListNamesAsync());

        // As a REST key's mailbox does: the same address, open again.
        await box.OpenAsync(Tenant.Name);
        Assert.Equal([address], await Tenant.RegisterAsync("inbox", address));
        await box.CloseAsync(Tenant.Name);
        Assert.Empty(await Tenant.ListNamesAsync());
    }

    [Fact]
    public async Task The_names_of_a_mailbox_go_when_it_idles_out()
    {
        var mailbox = await Tenant.OpenMailboxAsync();
        await Tenant.RegisterAsync("inbox", mailbox.Address);

        // Nobody opens or reads it for longer than its idle time; its timer drops it at its next tick.
        Cluster.Time.Advance(ClusterFixture.MailboxIdleTimeout);

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Tenant.ListNamesAsync()).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the idle mailbox's name is still there 30 s after its idle time");
            await Task.Delay(50);
        }

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("inbox", mailbox.Address));
        Assert.Equal(ErrorCodes.NpidNotFound, e.Code);
    }

    [Fact]
    public async Task Tenants_never_see_each_others_names()
    {
        var other = await Cluster.TenantAsync("o-" + Guid.NewGuid().ToString("N")[..8]);
        var mine = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("web", mine);

        Assert.Empty(await other.ListNamesAsync());
        var e = await Assert.ThrowsAsync<NefeleException>(() => other.WaitForNameAsync("web", TimeSpan.Zero));
        Assert.Equal(ErrorCodes.NameNotFound, e.Code);
        Assert.Equal(ErrorCodes.NameNotFound, (await Assert.ThrowsAsync<NefeleException>(() => other.UnregisterAsync("web", mine))).Code);
        Assert.Equal(ErrorCodes.NpidNotFound, (await Assert.ThrowsAsync<NefeleException>(() => other.RegisterAsync("web", mine))).Code);
        Assert.Single(await Tenant.ListNamesAsync());
    }

    [Fact]
    public async Task Names_and_topics_die_with_their_process_when_it_exits()
    {
        var (a, b) = (await Tenant.SpawnAsync(Sleep), await Tenant.SpawnAsync(Sleep));
        await Tenant.RegisterAsync("web", a);
        await Tenant.RegisterAsync("web", b);
        await Tenant.RegisterAsync("#80", a);
        await Tenant.SubscribeAsync("news", a);

        await Cluster.ExitAsync(a);

        var web = Assert.Single(await Tenant.ListNamesAsync());
        Assert.Equal([b], web.Holders.Select(h => h.Npid));
        Assert.Empty(await Tenant.ListTopicsAsync());
    }

    [Fact]
    public async Task Names_die_with_a_process_declared_lost()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("web", npid);

        await Cluster.Client.GetGrain<IProcessGrain>(npid).MarkLostAsync("node gone");

        Assert.Empty(await Tenant.ListNamesAsync());
    }

    [Fact]
    public async Task A_lost_node_takes_its_holders_with_it()
    {
        var here = await Tenant.SpawnAsync(Sleep);
        var remote = await Tenant.OpenMailboxAsync();
        await Tenant.RegisterAsync("web", here);
        await Tenant.RegisterAsync("web", remote.Address);

        var after = await Service.DropNodeAsync(ClusterFixture.Node);

        // The mailbox lives on no node and stays; the answer is the tables after the drop.
        Assert.Equal([remote.Address], Assert.Single(await Tenant.ListNamesAsync()).Holders.Select(h => h.Npid));
        Assert.Equal([remote.Address], Assert.Single(after.Names).Holders.Select(h => h.Npid));
        await remote.DisposeAsync();
    }

    [Fact]
    public async Task A_process_holds_at_most_the_per_process_limit_of_names_and_topics()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        for (var i = 0; i < Limits.MaxNamesPerProcess - 1; i++)
        {
            await Tenant.RegisterAsync($"n{i}", npid);
        }

        await Tenant.SubscribeAsync("last", npid);

        var e = await Assert.ThrowsAsync<NefeleException>(() => Tenant.RegisterAsync("one-more", npid));
        Assert.Equal(ErrorCodes.LimitExceeded, e.Code);
        Assert.Contains($"{Limits.MaxNamesPerProcess}", e.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.LimitExceeded, (await Assert.ThrowsAsync<NefeleException>(() => Tenant.SubscribeAsync("other", npid))).Code);

        // Another process is not held back by it, and room comes back when one is given up.
        var other = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("one-more", other);
        await Tenant.UnregisterAsync("n0", npid);
        await Tenant.RegisterAsync("one-more", npid);
    }

    [Fact]
    public async Task Wait_answers_at_registration_and_times_out_otherwise()
    {
        var npid = await Tenant.SpawnAsync(Sleep);

        var none = await Assert.ThrowsAsync<NefeleException>(() => Tenant.WaitForNameAsync("late", TimeSpan.Zero));
        Assert.Equal(ErrorCodes.NameNotFound, none.Code);
        var timedOut = await Assert.ThrowsAsync<NefeleException>(() => Tenant.WaitForNameAsync("late", TimeSpan.FromMilliseconds(200)));
        Assert.Equal(ErrorCodes.TimedOut, timedOut.Code);

        var waiting = Tenant.WaitForNameAsync("late", TimeSpan.FromSeconds(10));
        Assert.False(waiting.IsCompleted);
        await Tenant.RegisterAsync("late", npid);
        var holder = Assert.Single(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(npid, holder.Npid);
    }

    [Fact]
    public async Task The_node_gets_the_table_at_the_first_launch_and_every_change_after_it()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        Assert.DoesNotContain(Cluster.Channel.NameTables, t => t.Tenant == Tenant.Name);

        await Tenant.RegisterAsync("web", npid);
        var first = Assert.Single(Cluster.Channel.NameTables, t => t.Tenant == Tenant.Name);
        Assert.Equal("web", Assert.Single(first.Names).Name);
        Assert.Equal(npid, Assert.Single(first.Names[0].Holders).Npid);
        Assert.Equal(ClusterFixture.Node, first.Names[0].Holders[0].Node);

        await Tenant.SubscribeAsync("news", npid);
        await Tenant.UnregisterAsync("web", npid);
        var tables = Cluster.Channel.NameTables.Where(t => t.Tenant == Tenant.Name).ToArray();
        Assert.Equal(3, tables.Length);
        Assert.True(tables[0].Version < tables[1].Version && tables[1].Version < tables[2].Version);
        Assert.Empty(tables[2].Names);
        Assert.Equal("news", Assert.Single(tables[2].Topics).Name);

        // A tenant whose names exist before its first launch on the node: the launch brings them.
        var other = await Cluster.TenantAsync("o-" + Guid.NewGuid().ToString("N")[..8]);
        var mailbox = await other.OpenMailboxAsync();
        await other.RegisterAsync("inbox", mailbox.Address);
        Assert.DoesNotContain(Cluster.Channel.NameTables, t => t.Tenant == other.Name);
        var theirs = await other.SpawnAsync(Sleep);
        Assert.Equal("inbox", Assert.Single(Assert.Single(Cluster.Channel.NameTables, t => t.Tenant == other.Name).Names).Name);
        await Cluster.ExitAsync(theirs);
        await mailbox.DisposeAsync();
    }

    [Fact]
    public async Task Names_survive_the_name_service_reactivating_from_storage()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("web", npid);
        await Tenant.SubscribeAsync("news", npid);
        var before = Cluster.Channel.NameTables.Last(t => t.Tenant == Tenant.Name).Version;

        await Service.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();

        Assert.Equal([npid], Assert.Single(await Tenant.ListNamesAsync()).Holders.Select(h => h.Npid));
        Assert.Equal("news", Assert.Single(await Tenant.ListTopicsAsync()).Name);

        // Still pushing to the node it knew, with a newer version; and the process's end still drops them.
        await Cluster.ExitAsync(npid);
        var after = Cluster.Channel.NameTables.Last(t => t.Tenant == Tenant.Name);
        Assert.True(after.Version > before);
        Assert.Empty(after.Names);
        Assert.Empty(after.Topics);
    }

    [Fact]
    public async Task The_nodes_tables_outlive_its_node_grains_activation()
    {
        var npid = await Tenant.SpawnAsync(Sleep);
        await Tenant.RegisterAsync("web", npid);
        var version = Cluster.Channel.NameTables.Last(t => t.Tenant == Tenant.Name).Version;

        // Orleans deactivates it, e.g., when its grain-directory entry was on a silo that went.
        await Cluster.NodeGrain.Cast<Orleans.Core.Internal.IGrainManagementExtension>().DeactivateOnIdle();

        // A hostd that attaches again gets the tables the node had, though no process of the tenant was reported.
        var before = Cluster.Channel.NameTables.Count;
        await Cluster.NodeGrain.RepushNamesAsync([]);
        var repushed = Assert.Single(Cluster.Channel.NameTables.Skip(before), t => t.Tenant == Tenant.Name);
        Assert.Equal(version, repushed.Version);
        Assert.Equal(npid, Assert.Single(Assert.Single(repushed.Names).Holders).Npid);

        // An older table than the one the node has is not handed to hostd.
        before = Cluster.Channel.NameTables.Count;
        await Cluster.NodeGrain.ApplyNamesAsync(new NameTable { Tenant = Tenant.Name, Version = version - 1, Names = [], Topics = [] });
        Assert.DoesNotContain(Cluster.Channel.NameTables.Skip(before), t => t.Tenant == Tenant.Name);
    }
}
