namespace Nefele.Cli.Commands;

/// <summary>sup stop NAME: stops the supervisor's children in reverse order, each with its shutdown, and forgets it; prints nothing.</summary>
internal sealed record SupStopCommand(string Name) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Supervisors("sup stop").StopSupervisorAsync(Name, ct).ConfigureAwait(false);
        return NefApp.Ok;
    }
}
