using Nefele.Cli.Json;
using Nefele.Cli.Output;

namespace Nefele.Cli.Commands;

/// <summary>sup show NAME [--json]: a supervisor's phase, strategy, restarts and node, then its children: ID NPID PHASE RESTART RESTARTS LAST END.</summary>
internal sealed record SupShowCommand(string Name, bool Json) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var status = await context.Supervisors("sup show").GetSupervisorAsync(Name, ct).ConfigureAwait(false);
        if (Json)
        {
            await context.WriteJsonAsync(status, NefJsonContext.Default.SupervisorStatus, ct).ConfigureAwait(false);
        }
        else
        {
            await SupervisorTable.WriteShowAsync(context.Out, status).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
