using Nefele.Cli.Json;
using Nefele.Cli.Output;
using Nefele.Client;

namespace Nefele.Cli.Commands;

/// <summary>images [--json]: the tenant's images, NAME TAG DIGEST SIZE CREATED, or their records as a JSON array.</summary>
internal sealed record ImagesCommand(bool Json) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var images = await context.Images("images").ListImagesAsync(ct).ConfigureAwait(false);
        if (Json)
        {
            await context.WriteJsonAsync(images, NefJsonContext.Default.IReadOnlyListImageInfo, ct).ConfigureAwait(false);
        }
        else
        {
            await ImageTable.WriteAsync(context.Out, images, context.Time.GetUtcNow()).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
