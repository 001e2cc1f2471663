using System.Text.Json;
using Nefele.Placement;

namespace Nefele.Grains.Tests.Unit;

public class SpawnBodyTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public void Body_becomes_the_request_the_cluster_admits()
    {
        var body = JsonSerializer.Deserialize<SpawnBody>("""{"requestId":"r-1","count":3,"allowPartial":true,"spread":true,"tasks":[{"path":"/bin/true"}]}""", Web)!;
        var request = body.ToRequest();
        Assert.Equal("r-1", body.RequestId);
        Assert.Equal((3, true, true, null), (request.Count, request.AllowPartial, request.Spread, request.Parent));
        Assert.Equal("/bin/true", Assert.Single(request.Tasks).Path);
    }

    [Fact]
    public void Unknown_field_is_refused_naming_it()
    {
        var e = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SpawnBody>("""{"tasks":[],"spreed":true}""", Web));
        Assert.Contains("spreed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parent_cannot_be_claimed_in_a_body() =>
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SpawnBody>("""{"tasks":[],"parent":"0123456789abc"}""", Web));

    [Fact]
    public void Command_line_is_not_part_of_the_task_contract()
    {
        var json = JsonSerializer.Serialize(new Processes.ProcessSpec { Path = "/bin/echo", Args = ["hi"] }, Web);
        Assert.DoesNotContain("commandLine", json, StringComparison.Ordinal);
    }
}
