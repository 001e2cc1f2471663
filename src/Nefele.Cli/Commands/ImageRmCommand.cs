using Nefele.Images;

namespace Nefele.Cli.Commands;

/// <summary>image rm NAME[:TAG]...: removes tags (blobs no other tag uses go too); prints nothing.</summary>
internal sealed record ImageRmCommand(IReadOnlyList<ImageReference> Images) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var transport = context.Images("image rm");
        foreach (var image in Images)
        {
            await transport.DeleteImageAsync(image.Name, image.Tag, ct).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
