using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Validation;
using Nefele.Processes;

namespace Nefele.Grains.Tests.Unit;

public class ConstraintValidationTests
{
    private static readonly ProcessSpec Sleep = new() { Path = "/bin/sleep" };

    [Theory]
    [InlineData("npid:0123456789abc", SelectorKind.Npid, "0123456789abc", null)]
    [InlineData("name:web", SelectorKind.Name, "web", null)]
    [InlineData("label:zone=eu-1", SelectorKind.Label, "zone", "eu-1")]
    [InlineData("label:topology.kubernetes.io/zone=a", SelectorKind.Label, "topology.kubernetes.io/zone", "a")]
    [InlineData("label:ssd=", SelectorKind.Label, "ssd", "")]
    public void Selectors_parse(string text, SelectorKind kind, string value, string? labelValue)
    {
        Assert.True(Selector.TryParse(text, out var s));
        Assert.Equal(new Selector(kind, value, labelValue), s);
        Assert.Equal(text, s.ToString());
    }

    [Theory]
    [InlineData("web")]
    [InlineData("npid:short")]
    [InlineData("name:")]
    [InlineData("name:has space")]
    [InlineData("label:zone")]
    [InlineData("label:=a")]
    [InlineData("host:x")]
    public void Malformed_selectors_are_bad_requests_naming_the_forms(string text)
    {
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(Sleep with { Affinity = [text] }, string.Empty));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains($"selector '{text}' is not npid:<NPID>, name:<name> or label:<key>=<value>", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_selector_as_affinity_and_anti_affinity_is_a_bad_request()
    {
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(Sleep with { Affinity = ["name:db"], AntiAffinity = ["name:db"] }, string.Empty));
        Assert.Contains("name:db is both an affinity and an anti-affinity", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_values_for_one_label_in_affinity_is_a_bad_request()
    {
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(Sleep with { Affinity = ["label:zone=a", "label:zone=b"] }, string.Empty));
        Assert.Contains("affinity asks label zone to have 2 different values", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpu", 0, "device gpu count 0 must be 1..1024")]
    [InlineData("gpu", 2000, "device gpu count 2000 must be 1..1024")]
    [InlineData("GPU", 1, "device 'GPU' must be 1-32 lowercase letters")]
    public void Bad_device_asks_are_bad_requests(string name, long count, string message)
    {
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(Sleep with { Devices = new Dictionary<string, long> { [name] = count } }, string.Empty));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_selectors_is_a_bad_request()
    {
        var many = Enumerable.Range(0, Limits.MaxSelectors + 1).Select(i => $"name:n{i}").ToArray();
        var e = Assert.Throws<NefeleException>(() => SpecValidator.Validate(Sleep with { AntiAffinity = many }, string.Empty));
        Assert.Contains($"at most {Limits.MaxSelectors}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Valid_constraints_pass()
    {
        SpecValidator.Validate(Sleep with
        {
            Devices = new Dictionary<string, long> { ["gpu"] = 2 },
            Affinity = ["label:zone=a", "npid:0123456789abc"],
            AntiAffinity = ["name:web"],
        }, string.Empty);
    }
}
