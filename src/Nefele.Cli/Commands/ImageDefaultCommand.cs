using Nefele.Images;

namespace Nefele.Cli.Commands;

/// <summary>image default NAME[:TAG] | image default --none: sets or clears the tenant's default image; prints nothing.</summary>
internal sealed record ImageDefaultCommand(ImageReference? Image) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Images("image default").SetDefaultImageAsync(Image?.ToString(), ct).ConfigureAwait(false);
        return NefApp.Ok;
    }
}
