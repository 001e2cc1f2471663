using Nefele.Cli.Transport;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Commands;

/// <summary>
/// spawn and nspawn: prints the NPIDs started, one a line. spawn --wait instead runs the process
/// to its end as systemd-run --wait --pipe or srun do: its output on stdout, its NPID and how it
/// ended on stderr, and its exit status as nef's (128 + N for a signal N, 1 when it never ran).
/// </summary>
internal sealed record SpawnCommand(SpawnBatch Batch, bool Wait = false) : INefCommand
{
    public bool Waits => Wait;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var outcome = await context.Transport.SpawnAsync(Batch, ct).ConfigureAwait(false);
        if (!Wait)
        {
            await PrintAsync(context, outcome).ConfigureAwait(false);
            return 0;
        }

        var npid = outcome.Npids.Single();
        await context.Err.WriteLineAsync($"nef: {npid}").ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        await context.Transport.LogsAsync(npid, follow: true, context.RawOut, ct).ConfigureAwait(false);
        var end = await context.Transport.MonitorAsync(npid, ct).ConfigureAwait(false);
        await context.Err.WriteLineAsync($"nef: {npid} {end.Describe()}".ReplaceLineEndings(" ")).ConfigureAwait(false);
        return end.State switch
        {
            ProcessState.Exited when end.Signal > 0 => 128 + end.Signal,
            ProcessState.Exited => end.ExitCode,
            _ => 1,
        };
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
