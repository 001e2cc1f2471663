using Nefele.Cli.Output;

namespace Nefele.Cli.Commands;

/// <summary>
/// logs: with one NPID and no other filter, the captured output raw, byte for byte (-f follows until
/// it ends). Otherwise the records of every matching process of the tenant, across nodes, each line
/// prefixed with its process (and stream, for stderr) when there can be several, as docker compose
/// logs does; --timestamps puts each record's time first.
/// </summary>
internal sealed record LogsCommand(LogsFilter Filter, bool Timestamps = false) : INefCommand
{
    public bool Waits => Filter.Follow;

    /// <summary>One NPID and nothing else: today's raw output, resumable by byte offset.</summary>
    public bool Raw => Filter is { Npids.Count: 1, Name: null, Node: null, Since: null, Until: null } && !Timestamps;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        if (Raw)
        {
            await context.Transport.LogsAsync(Filter.Npids[0], Filter.Follow, context.RawOut, ct, Filter.Stream).ConfigureAwait(false);
            return 0;
        }

        var lines = new LogLines(context.RawOut, prefix: Filter.Npids.Count != 1, Timestamps);
        await context.Transport.QueryLogsAsync(Filter, lines.WriteAsync, ct).ConfigureAwait(false);
        await lines.FlushAsync(ct).ConfigureAwait(false);
        return 0;
    }
}
