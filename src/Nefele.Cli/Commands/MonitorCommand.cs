namespace Nefele.Cli.Commands;

/// <summary>
/// monitor NPID…: one line per process as it ends ("exited 0", "killed by SIGTERM", …),
/// prefixed with "NPID: " when several are watched. Lines come in the order the processes end.
/// </summary>
internal sealed record MonitorCommand(IReadOnlyList<string> Npids) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var transport = context.Transport;
        var prefix = Npids.Count > 1;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var gate = new SemaphoreSlim(1, 1);
        var watches = Npids.Select(async npid =>
        {
            var end = await transport.MonitorAsync(npid, stop.Token).ConfigureAwait(false);
            var line = (prefix ? npid + ": " : string.Empty) + end.Describe().ReplaceLineEndings(" ");
            await gate.WaitAsync(stop.Token).ConfigureAwait(false);
            try
            {
                await context.Out.WriteLineAsync(line).ConfigureAwait(false);
                await context.Out.FlushAsync(stop.Token).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();

        try
        {
            // The first failure (an unknown NPID, a lost connection) ends the whole command.
            while (watches.Count > 0)
            {
                var done = await Task.WhenAny(watches).ConfigureAwait(false);
                watches.Remove(done);
                await done.ConfigureAwait(false);
            }
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            gate.Dispose();
        }

        return 0;
    }
}
