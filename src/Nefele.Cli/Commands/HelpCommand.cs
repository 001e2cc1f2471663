using Nefele.Cli.Parsing;

namespace Nefele.Cli.Commands;

/// <summary>nef help [COMMAND], nef COMMAND --help, -h: the overview, or that command's own help, on stdout.</summary>
internal sealed record HelpCommand(string? Topic) : INefCommand
{
    public bool Connects => false;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var text = Topic is not null && CommandCatalogue.Find(Topic) is { } command
            ? CommandCatalogue.For(command)
            : CommandCatalogue.Overview();
        await context.Out.WriteAsync(text).ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        return 0;
    }
}
