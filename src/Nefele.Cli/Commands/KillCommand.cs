namespace Nefele.Cli.Commands;

/// <summary>kill [-SIGNAL] NPID…: sends the signal (TERM unless told) to each process.</summary>
internal sealed record KillCommand(int Signal, IReadOnlyList<string> Npids) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Transport.KillAsync(Npids, Signal, ct).ConfigureAwait(false);
        return 0;
    }
}
