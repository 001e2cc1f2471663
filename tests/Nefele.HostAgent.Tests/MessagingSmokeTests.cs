using Nefele.Protocol.V1;

namespace Nefele.HostAgent.Tests;

public sealed class MessagingSmokeTests : AttachedHostdTests
{
    [Fact]
    public async Task Smoke()
    {
        await using var a = await ApiPeer.StartAsync(Silo);
        await using var b = await ApiPeer.StartAsync(Silo);
        Assert.Equal(1u, await a.SendOkAsync(b.Npid, "hi", "t1"));
        var m = await b.ReceiveMessageAsync();
        Assert.Equal("hi", m.Data.ToStringUtf8());
        Assert.Equal(a.Npid, m.From);
    }
}
