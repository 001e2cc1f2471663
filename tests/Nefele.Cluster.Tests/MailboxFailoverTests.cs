using System.Collections.Concurrent;
using System.Net;
using Nefele.Client;
using Xunit;
using Xunit.Abstractions;

namespace Nefele.Cluster.Tests;

/// <summary>
/// An SDK program's mailbox and node deaths. Messages come from another SDK connection through
/// node 2's gateway, with ack, so every message the test counts as accepted was in the mailbox
/// when its send returned; they cross silos to reach it. Like every cluster test it starts from
/// nodes 1..3 active and connected, and restarts the node it kills.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class MailboxFailoverTests(ClusterFixture cluster, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Mailboxes opened: a mailbox's directory entry lives on one silo of three, chosen by hash, so
    /// with 12 the chance that none has it on the killed node is (2/3)^12, under 1%.
    /// </summary>
    private const int Mailboxes = 12;

    public Task InitializeAsync() => cluster.RestoreAsync(output.WriteLine);

    public Task DisposeAsync() => Task.CompletedTask;

    /// <summary>
    /// The program (gateway node 1) opens its mailboxes and does nothing more while another
    /// program sends to them through node 2, before, while and after node 3 is killed. Every
    /// message whose acknowledged send returned is then received, once and in send order, from the
    /// mailboxes that stayed on node 1, and sends after node 3's death are accepted and received.
    /// </summary>
    [Fact]
    public async Task Messages_accepted_by_an_sdk_mailbox_survive_the_death_of_another_node_and_delivery_goes_on()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        await cluster.TenantAsync(name);
        await using var receiver = await NefeleConnection.ConnectAsync(cluster.Options(Gateway(1))).WaitAsync(Bound);
        await using var sender = await NefeleConnection.ConnectAsync(cluster.Options(Gateway(2))).WaitAsync(Bound);
        var mailboxes = new List<NefeleMailbox>();
        var killed = false;
        using var stop = new CancellationTokenSource();
        try
        {
            for (var i = 0; i < Mailboxes; i++)
            {
                var mailbox = await receiver.Tenant(name).OpenMailboxAsync().WaitAsync(Bound);
                mailboxes.Add(mailbox);
                Assert.Equal(ClusterFixture.NodeName(1), mailbox.Node);
            }

            // One sender per mailbox, one acked send at a time: what it accepted, and what it refused.
            var accepted = mailboxes.Select(_ => new ConcurrentQueue<int>()).ToArray();
            var refused = mailboxes.Select(_ => new ConcurrentQueue<string>()).ToArray();
            var senders = mailboxes.Select((m, k) => SendUntilAsync(sender.Tenant(name), m.Address, accepted[k], refused[k], stop.Token)).ToArray();

            await Eventually.Until(() => accepted.All(a => a.Count >= 20), Bound, "20 messages accepted by each mailbox before the kill");
            killed = true;
            await cluster.ScriptAsync("kill", "3");
            await cluster.WaitForNodesAsync([1, 2], Bound);
            var atDeath = accepted.Select(a => a.Count).ToArray();
            output.WriteLine($"node 3 declared dead with {atDeath.Sum()} messages accepted");

            // Delivery goes on: each mailbox accepts 20 more once the node is known dead.
            await Eventually.Until(() => accepted.Select((a, k) => a.Count - atDeath[k]).All(n => n >= 20), Bound, "20 more messages accepted by each mailbox after node 3's death");
            await stop.CancelAsync();
            await Task.WhenAll(senders);

            for (var k = 0; k < Mailboxes; k++)
            {
                var expected = accepted[k].ToArray();
                var received = new List<int>();
                var detail = $"mailbox {k} ({mailboxes[k].Address}); refused sends: {string.Join("; ", refused[k].Take(3))}";
                for (var i = 0; i < expected.Length; i++)
                {
                    var m = await mailboxes[k].ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound);
                    Assert.Equal(mailboxes[k].Address, m.To);
                    received.Add(BitConverter.ToInt32(m.Data.Span));
                }

                // A refused acked send was put nowhere: nothing more waits, and all came in send order.
                var extra = await Assert.ThrowsAsync<NefeleException>(() => mailboxes[k].ReceiveAsync(TimeSpan.Zero));
                Assert.Equal(ErrorCodes.TimedOut, extra.Code);
                Assert.True(expected.SequenceEqual(received), $"{detail}: accepted {string.Join(",", expected)}; received {string.Join(",", received)}");
                output.WriteLine($"mailbox {k}: {expected.Length} accepted and received, {refused[k].Count} refused");
            }

            foreach (var mailbox in mailboxes)
            {
                Assert.Equal(ClusterFixture.NodeName(1), (await mailbox.KeepNowAsync(CancellationToken.None).WaitAsync(Bound)).Node);
            }
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var mailbox in mailboxes)
            {
                await mailbox.DisposeAsync();
            }

            if (killed)
            {
                await cluster.ScriptAsync("start", "3");
                await cluster.WaitForNodesAsync([1, 2, 3], ClusterFixture.RejoinBound);
            }
        }
    }

    /// <summary>
    /// The program reaches the cluster through nodes 2 and 3, and its mailbox lives on the node it
    /// was opened through. That node is killed while a receive waits: with no call from the
    /// program, the mailbox opens again under the same address and settles on the other gateway's
    /// node, the sender's acked sends to that address are accepted again, and the waiting receive
    /// gets them, in order.
    /// </summary>
    [Fact]
    public async Task An_sdk_mailbox_comes_back_under_its_address_through_another_gateway_when_its_node_dies()
    {
        var name = "t" + Guid.NewGuid().ToString("N")[..10];
        await cluster.TenantAsync(name);
        await using var receiver = await NefeleConnection.ConnectAsync(cluster.Options(Gateway(2), Gateway(3))).WaitAsync(Bound);
        await using var sender = await NefeleConnection.ConnectAsync(cluster.Options(Gateway(1))).WaitAsync(Bound);
        var mailbox = await receiver.Tenant(name).OpenMailboxAsync().WaitAsync(Bound);
        var address = mailbox.Address;
        var home = mailbox.Node;
        var dies = home == ClusterFixture.NodeName(2) ? 2 : 3;
        Assert.Equal(ClusterFixture.NodeName(dies), home);
        var survivor = ClusterFixture.NodeName(5 - dies);
        var killed = false;
        using var stop = new CancellationTokenSource();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                await sender.Tenant(name).SendAsync(address, BitConverter.GetBytes(i), new SendOptions { Ack = true }).WaitAsync(Bound);
                Assert.Equal(i, BitConverter.ToInt32((await mailbox.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound)).Data.Span));
            }

            // A receive waits across the kill; the sends after it are numbered from 1000.
            var waiting = mailbox.ReceiveAsync(TimeSpan.FromSeconds(120));
            killed = true;
            await cluster.ScriptAsync("kill", dies.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var accepted = new ConcurrentQueue<int>();
            var refused = new ConcurrentQueue<string>();
            var sending = SendUntilAsync(sender.Tenant(name), address, accepted, refused, stop.Token, first: 1000);
            await Eventually.Until(() => accepted.Count >= 20, TimeSpan.FromSeconds(120), $"20 messages accepted by mailbox {address} after node {dies} was killed");
            await stop.CancelAsync();
            await sending;
            output.WriteLine($"after the kill: {refused.Count} sends refused (first: {refused.FirstOrDefault()}), then {accepted.Count} accepted");

            // Messages sent before it came back were put nowhere; from then on every accepted one comes, in order.
            var expected = accepted.ToArray();
            var first = await waiting.WaitAsync(Bound);
            Assert.Equal(address, first.To);
            var received = new List<int> { BitConverter.ToInt32(first.Data.Span) };
            for (var i = 1; i < expected.Length; i++)
            {
                received.Add(BitConverter.ToInt32((await mailbox.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound)).Data.Span));
            }

            Assert.True(expected.SequenceEqual(received), $"accepted {string.Join(",", expected)}; received {string.Join(",", received)}");
            Assert.Equal(address, mailbox.Address);

            // It lives on the gateway the program reaches now (moved there if a send reached the address first).
            await Eventually.Until(async () => (await mailbox.KeepNowAsync(CancellationToken.None).WaitAsync(Bound)).Node == survivor, Bound, $"mailbox {address} on {survivor}");
            await sender.Tenant(name).SendAsync(address, BitConverter.GetBytes(2000), new SendOptions { Ack = true }).WaitAsync(Bound);
            Assert.Equal(2000, BitConverter.ToInt32((await mailbox.ReceiveAsync(TimeSpan.FromSeconds(10)).WaitAsync(Bound)).Data.Span));
        }
        finally
        {
            await stop.CancelAsync();
            await mailbox.DisposeAsync();
            if (killed)
            {
                await cluster.ScriptAsync("start", dies.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await cluster.WaitForNodesAsync([1, 2, 3], ClusterFixture.RejoinBound);
            }
        }
    }

    /// <summary>
    /// Acked sends of 0, 1, 2… (from <paramref name="first"/>) to <paramref name="address"/>, one at
    /// a time, until <paramref name="stop"/> (checked between sends, so every send's outcome is
    /// known): each accepted number, and why each refused one was.
    /// </summary>
    private static async Task SendUntilAsync(NefeleTenant tenant, string address, ConcurrentQueue<int> accepted, ConcurrentQueue<string> refused, CancellationToken stop, int first = 0)
    {
        for (var i = first; !stop.IsCancellationRequested; i++)
        {
            try
            {
                await tenant.SendAsync(address, BitConverter.GetBytes(i), new SendOptions { Ack = true, Wait = TimeSpan.FromSeconds(1) }).WaitAsync(Bound);
                accepted.Enqueue(i);
            }
            catch (Exception e) when (e is NefeleException || Nefele.Errors.Transient.Is(e))
            {
                refused.Enqueue($"{i}: {(e as NefeleException)?.Code ?? e.GetType().Name} {e.Message}");
                await Task.Delay(TimeSpan.FromMilliseconds(100), stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private static IPEndPoint Gateway(int k) => new(IPAddress.Parse($"{ClusterFixture.Subnet}.{10 + k}"), 30000);
}
