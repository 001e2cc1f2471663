using System.Globalization;
using System.Text.Json.Nodes;
using Nefele.Cli;
using Nefele.Cli.Commands;
using Nefele.Cli.Output;
using Nefele.Client;

namespace Nefele.AppCli;

/// <summary>status [--json]: the tenant's applications, NAME IMAGE PHASE NPID RESTARTS NODE.</summary>
internal sealed record AppStatusCommand(bool Json) : INefCommand
{
    private static readonly string[] Header = ["NAME", "IMAGE", "PHASE", "NPID", "RESTARTS", "NODE"];

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var supervisors = context.Supervisors("status");
        var rows = new List<string[]> { Header };
        var json = new JsonArray();
        foreach (var name in (await supervisors.ListSupervisorsAsync(ct).ConfigureAwait(false)).Where(n => n.StartsWith(AppNames.Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            SupervisorStatus status;
            try
            {
                status = await supervisors.GetSupervisorAsync(name, ct).ConfigureAwait(false);
            }
            catch (Nefele.Cli.Transport.NefeleApiException e) when (e.Code == ErrorCodes.SupervisorNotFound)
            {
                continue;
            }

            var child = status.Children.Count > 0 ? status.Children[0] : null;
            var app = name[AppNames.Prefix.Length..];
            var image = (status.Spec.Children.Count > 0 ? status.Spec.Children[0].Process?.Image : null) ?? "-";
            var phase = child?.Phase.ToString().ToLowerInvariant() ?? status.Phase.ToString().ToLowerInvariant();
            rows.Add([app, image, phase, child?.Npid ?? "-", status.Restarts.ToString(CultureInfo.InvariantCulture), status.Node ?? "-"]);
            json.Add(new JsonObject
            {
                ["name"] = app,
                ["image"] = image,
                ["phase"] = phase,
                ["npid"] = child?.Npid,
                ["restarts"] = status.Restarts,
                ["node"] = status.Node,
            });
        }

        if (Json)
        {
            await context.Out.WriteLineAsync(json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true })).ConfigureAwait(false);
        }
        else
        {
            await TextTable.WriteAsync(context.Out, rows).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
