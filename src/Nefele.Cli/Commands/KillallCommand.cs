using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Commands;

/// <summary>killall [-SIGNAL] PATTERN: signals every Running process whose program name starts with PATTERN.</summary>
internal sealed record KillallCommand(int Signal, string Pattern) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var processes = await context.Transport.PsAsync(false, ct).ConfigureAwait(false);
        var targets = processes
            .Where(p => p.State == ProcessState.Running && ProgramPattern.Matches(p.Command ?? string.Empty, Pattern))
            .Select(p => p.Npid)
            .ToList();
        if (targets.Count == 0)
        {
            throw new NefeleApiException($"no process matching {Pattern}");
        }

        await context.Transport.KillAsync(targets, Signal, ct).ConfigureAwait(false);
        return 0;
    }
}
