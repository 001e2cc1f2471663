using System.Text.Json.Nodes;
using Nefele.Cli;
using Nefele.Cli.Commands;
using Nefele.Images;

namespace Nefele.AppCli;

/// <summary>
/// start APP: the application NAME runs as the one child of the durable supervisor app.NAME: image
/// APP with its own command (or PROGRAM), named NAME, restarted when it ends (permanent, at most
/// 3 restarts in 60 s). Starting it again with the same image and command answers the running one.
/// Prints the NPID.
/// </summary>
internal sealed record AppStartCommand(string Name, ImageReference Image, IReadOnlyList<string> Program, bool NoHandshake = false) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var process = new JsonObject
        {
            ["path"] = Program.Count > 0 ? Program[0] : string.Empty,
            ["args"] = new JsonArray([.. Program.Skip(1).Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["image"] = Image.ToString(),
            ["name"] = Name,
            ["noHandshake"] = NoHandshake,
        };
        var spec = new JsonObject
        {
            ["strategy"] = "one_for_one",
            ["maxRestarts"] = 3,
            ["periodSeconds"] = 60,
            ["children"] = new JsonArray(new JsonObject { ["id"] = AppNames.Child, ["restart"] = "permanent", ["process"] = process }),
        };
        var status = await context.Supervisors("start").StartSupervisorAsync(AppNames.Supervisor(Name), spec, ct).ConfigureAwait(false);
        await context.Out.WriteLineAsync((status.Children.Count > 0 ? status.Children[0].Npid : null) ?? "-").ConfigureAwait(false);
        return NefApp.Ok;
    }
}
