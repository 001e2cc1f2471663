using Nefele.Cli.Output;

namespace Nefele.Cli.Commands;

/// <summary>names [--topics] [PREFIX]: the tenant's names (or topics) with their holders: NAME NPID NODE, a row per holder.</summary>
internal sealed record NamesCommand(bool Topics, string? Prefix) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var entries = await context.Transport.ListNamesAsync(Prefix, Topics, ct).ConfigureAwait(false);
        List<string[]> rows = [[Topics ? "TOPIC" : "NAME", Topics ? "SUBSCRIBER" : "NPID", "NODE"]];
        foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            foreach (var holder in entry.Holders)
            {
                rows.Add([entry.Name, holder.Npid, holder.Node.Length > 0 ? holder.Node : "-"]);
            }
        }

        await TextTable.WriteAsync(context.Out, rows).ConfigureAwait(false);
        return NefApp.Ok;
    }
}
