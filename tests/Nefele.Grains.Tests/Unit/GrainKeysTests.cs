using Nefele.Client;
using Nefele.Errors;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Unit;

public class GrainKeysTests
{
    [Fact]
    public void Placement_key_round_trips()
    {
        var key = GrainKeys.PlacementRequest("acme", "r-1");
        Assert.Equal("acme/r-1", key);
        Assert.Equal(("acme", "r-1"), GrainKeys.ParsePlacementRequest(key));
    }

    [Fact]
    public void Tenant_with_a_slash_cannot_make_a_key_into_another_tenant()
    {
        var e = Assert.Throws<NefeleException>(() => GrainKeys.PlacementRequest("a/x", "r-1"));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("tenant name 'a/x'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/x/r-1")] // the request id part has a '/'
    [InlineData("a b/r-1")]
    [InlineData("acme")]
    [InlineData("/r-1")]
    [InlineData("acme/")]
    public void Keys_of_other_shapes_are_refused_when_read(string key)
    {
        var e = Assert.Throws<NefeleException>(() => GrainKeys.ParsePlacementRequest(key));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
    }

    [Theory]
    [InlineData("acme/r-1", "acme")]
    [InlineData("a b/r-1", null)]
    [InlineData("nokey", null)]
    public void Tenant_of_a_prefixed_key(string key, string? tenant) => Assert.Equal(tenant, GrainKeys.TenantOf(key));
}
