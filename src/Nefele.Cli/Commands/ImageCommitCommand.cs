using Nefele.Images;

namespace Nefele.Cli.Commands;

/// <summary>
/// image commit NPID NAME[:TAG]: tags NAME:TAG as the image process NPID runs (or ran) from plus the
/// changes in that image's development overlay on its node; prints NAME:TAG and the new digest.
/// </summary>
internal sealed record ImageCommitCommand(string Npid, ImageReference Target) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var image = await context.Images("commit").CommitImageAsync(Npid, Target.Name, Target.Tag, ct).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"{image.Name}:{image.Tag} {image.Digest}").ConfigureAwait(false);
        return NefApp.Ok;
    }
}
