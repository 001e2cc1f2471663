using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>spawn and nspawn: prints the NPIDs started, one a line.</summary>
internal sealed record SpawnCommand(SpawnBatch Batch) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var outcome = await context.Transport.SpawnAsync(Batch, ct).ConfigureAwait(false);
        await PrintAsync(context, outcome).ConfigureAwait(false);
        return 0;
    }

    public static async Task PrintAsync(CommandContext context, SpawnOutcome outcome)
    {
        foreach (var npid in outcome.Npids)
        {
            await context.Out.WriteLineAsync(npid).ConfigureAwait(false);
        }

        await context.Out.FlushAsync().ConfigureAwait(false);
        if (outcome.RejectedCount > 0)
        {
            // A partial spawn the user asked for still succeeded; say what was left out.
            await context.Err.WriteLineAsync(
                $"nef: {outcome.RejectedCount} not spawned: {outcome.FirstRejection}".ReplaceLineEndings(" ")).ConfigureAwait(false);
        }
    }
}
