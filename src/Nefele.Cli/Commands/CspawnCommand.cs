using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>cspawn FILE.json: spawns every task of the file (count expanded here) in one request.</summary>
internal sealed record CspawnCommand(string File, bool AllowPartial, string? RequestId, bool Spread = false) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        string json;
        try
        {
            json = await System.IO.File.ReadAllTextAsync(File, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"cspawn: cannot read {File}: {e.Message}", e);
        }

        var tasks = CspawnFile.Parse(json, File, out var spread);
        var outcome = await context.Transport.SpawnAsync(new SpawnBatch(tasks, 1, AllowPartial, RequestId, Spread || spread), ct).ConfigureAwait(false);
        await SpawnCommand.PrintAsync(context, outcome).ConfigureAwait(false);
        return 0;
    }
}
