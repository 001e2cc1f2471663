using Nefele.Cli;
using Nefele.Cli.Commands;

namespace Nefele.AppCli;

/// <summary>stop NAME: stops the application's process (SIGTERM, then SIGKILL after 5 s) and forgets it.</summary>
internal sealed record AppStopCommand(string Name) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Supervisors("stop").StopSupervisorAsync(AppNames.Supervisor(Name), ct).ConfigureAwait(false);
        return NefApp.Ok;
    }
}
