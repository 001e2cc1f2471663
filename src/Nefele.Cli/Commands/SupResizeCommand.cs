using Nefele.Cli.Json;
using Nefele.Cli.Output;

namespace Nefele.Cli.Commands;

/// <summary>sup resize NAME N [--json]: a simple_one_for_one pool's new size; prints the supervisor once the new copies run (or the extra ones stopped).</summary>
internal sealed record SupResizeCommand(string Name, int Size, bool Json) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var status = await context.Supervisors("sup resize").ResizeSupervisorAsync(Name, Size, ct).ConfigureAwait(false);
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
