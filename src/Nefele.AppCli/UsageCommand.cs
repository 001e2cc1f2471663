using Nefele.Cli;
using Nefele.Cli.Commands;

namespace Nefele.AppCli;

/// <summary>nefele, nefele --help: the usage.</summary>
internal sealed record UsageCommand : INefCommand
{
    public bool Connects => false;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.WriteLineAsync(NefeleCommandLine.Usage).ConfigureAwait(false);
        return NefApp.Ok;
    }
}
