using Nefele.Cli.Json;
using Nefele.Cli.Output;
using Nefele.Client;

namespace Nefele.Cli.Commands;

/// <summary>sup ls [--json]: the tenant's supervisors, NAME PHASE STRATEGY CHILDREN RESTARTS NODE, or their statuses as a JSON array.</summary>
internal sealed record SupListCommand(bool Json) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var supervisors = context.Supervisors("sup ls");
        var statuses = new List<SupervisorStatus>();
        foreach (var name in (await supervisors.ListSupervisorsAsync(ct).ConfigureAwait(false)).Order(StringComparer.Ordinal))
        {
            try
            {
                statuses.Add(await supervisors.GetSupervisorAsync(name, ct).ConfigureAwait(false));
            }
            catch (Transport.NefeleApiException e) when (e.Code == ErrorCodes.SupervisorNotFound)
            {
                // Stopped between the list and the read.
            }
        }

        if (Json)
        {
            await context.WriteJsonAsync<IReadOnlyList<SupervisorStatus>>(statuses, NefJsonContext.Default.IReadOnlyListSupervisorStatus, ct).ConfigureAwait(false);
        }
        else
        {
            await SupervisorTable.WriteListAsync(context.Out, statuses).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
