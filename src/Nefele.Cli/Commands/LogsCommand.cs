namespace Nefele.Cli.Commands;

/// <summary>logs [-f] [--stream S] NPID: the captured output (stdout and stderr in the order read, or one of them), raw; -f follows until the end.</summary>
internal sealed record LogsCommand(string Npid, bool Follow, Nefele.Client.LogStream Stream = Nefele.Client.LogStream.All) : INefCommand
{
    public bool Waits => Follow;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        await context.Transport.LogsAsync(Npid, Follow, context.RawOut, ct, Stream).ConfigureAwait(false);
        return 0;
    }
}
