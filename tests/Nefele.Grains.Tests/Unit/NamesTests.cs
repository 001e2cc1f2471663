using Nefele.Client;
using Nefele.Errors;
using Nefele.Validation;

namespace Nefele.Grains.Tests.Unit;

public class NamesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("acme")]
    [InlineData("team-7")]
    [InlineData("0")]
    public void Dns_labels_are_tenant_names(string name) => Assert.True(Names.IsTenantName(name));

    [Theory]
    [InlineData("a/x")]
    [InlineData("..")]
    [InlineData("a b")]
    [InlineData("")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("Acme")]
    [InlineData("a.b")]
    [InlineData("a\0")]
    public void Other_shapes_are_not_tenant_names(string name)
    {
        Assert.False(Names.IsTenantName(name));
        var e = Assert.Throws<NefeleException>(() => Names.ValidateTenantName(name));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("tenant name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tenant_names_stop_at_63_characters()
    {
        Assert.True(Names.IsTenantName(new string('a', 63)));
        Assert.False(Names.IsTenantName(new string('a', 64)));
        var e = Assert.Throws<NefeleException>(() => Names.ValidateTenantName(new string('a', 200)));
        Assert.True(e.Message.Length < 250, "the message quotes a shortened name");
    }

    [Theory]
    [InlineData("web", true)]
    [InlineData("worker-1.a_b", true)]
    [InlineData("-x", false)]
    [InlineData("a b", false)]
    [InlineData("a/b", false)]
    public void Process_names(string name, bool valid) => Assert.Equal(valid, Names.IsProcessName(name));

    [Fact]
    public void Process_names_stop_at_64_characters()
    {
        Assert.True(Names.IsProcessName(new string('a', 64)));
        Assert.False(Names.IsProcessName(new string('a', 65)));
    }

    [Theory]
    [InlineData("HOME", true)]
    [InlineData("_X1", true)]
    [InlineData("1ABC", false)]
    [InlineData("A-B", false)]
    [InlineData("A=B", false)]
    [InlineData("", false)]
    public void Env_names(string name, bool valid) => Assert.Equal(valid, Names.IsEnvName(name));

    [Theory]
    [InlineData("0123456789abc", true)]
    [InlineData("fzzzzzzzzzzzz", true)]
    [InlineData("gzzzzzzzzzzzz", false)] // the first character carries only 4 bits
    [InlineData("0123456789ab", false)]
    [InlineData("0123456789abu", false)] // 'u' is not in Crockford's alphabet
    public void Npids(string text, bool valid) => Assert.Equal(valid, Names.IsNpid(text));

    [Theory]
    [InlineData("r-1", true)]
    [InlineData("0f8fad5b-d9cb-469f-a165-70867728950e", true)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    [InlineData("", false)]
    [InlineData("é", false)]
    public void Request_ids(string id, bool valid) => Assert.Equal(valid, Names.IsRequestId(id));

    [Fact]
    public void Request_ids_stop_at_128_characters()
    {
        Assert.True(Names.IsRequestId(new string('r', 128)));
        Assert.False(Names.IsRequestId(new string('r', 129)));
    }

    [Theory]
    [InlineData("/bin/true", true)]
    [InlineData("bin/true", false)]
    [InlineData("", false)]
    [InlineData("/a\0b", false)]
    public void Absolute_paths(string path, bool valid) => Assert.Equal(valid, Names.IsAbsolutePath(path));
}
