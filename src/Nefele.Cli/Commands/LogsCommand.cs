namespace Nefele.Cli.Commands;

/// <summary>logs [-f] NPID: the captured output (stdout and stderr interleaved), raw; -f follows until the end.</summary>
internal sealed record LogsCommand(string Npid, bool Follow) : INefCommand
{
    public bool Waits => Follow;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        await context.Transport.LogsAsync(Npid, Follow, context.RawOut, ct).ConfigureAwait(false);
        return 0;
    }
}
